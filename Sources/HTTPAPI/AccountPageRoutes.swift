import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Tenancy

/// The pages the account emails link to, without a credential and without JavaScript:
/// `GET|POST /accept-invitation?token=…` (choose a password, and a name) and
/// `GET|POST /reset-password?token=…` (choose a new password). They do what
/// `/v1/auth/accept-invitation` and `/v1/auth/reset-password` do. Always an HTML page, in
/// French: a dead link is a 400 page, a refused password a 422 page with the form again, a
/// failure a 503 page.
struct AccountPageRoutes: Sendable {
    let users: UserStore
    let authenticator: Authenticator
    let logger: Logger

    func register(on router: Router<AppRequestContext>) {
        router.get("accept-invitation", use: invitationPage)
        router.post("accept-invitation", use: acceptInvitation)
        router.get("reset-password", use: resetPage)
        router.post("reset-password", use: resetPassword)
    }

    @Sendable func invitationPage(request: Request, context: AppRequestContext) async throws -> Response {
        let token = request.uri.queryParameters.get("token") ?? ""
        return await page {
            guard try await users.invitationIsOpen(token) else { return Self.deadInvitation }
            return PublicPage.html(.ok, AccountPage.invitationForm(token: token, name: "", error: nil))
        }
    }

    @Sendable func acceptInvitation(request: Request, context: AppRequestContext) async throws -> Response {
        let form = await SurveyPageRoutes.form(request, context: context)
        let token = form["token"] ?? request.uri.queryParameters.get("token") ?? ""
        let name = form["name"] ?? ""
        return await page {
            // A dead link first: no point choosing a password for it.
            guard try await users.invitationIsOpen(token) else { return Self.deadInvitation }
            let password = form["password"] ?? ""
            if password != form["password_confirmation"] {
                return PublicPage.html(.unprocessableContent, AccountPage.invitationForm(
                    token: token, name: name, error: AccountPage.mismatch))
            }
            do {
                let user = try await users.activate(invitation: token, password: password, name: name)
                return PublicPage.html(.ok, AccountPage.message(
                    title: "Votre accès est prêt",
                    text: "C'est fait : vous pouvez vous connecter avec votre adresse \(user.email) et le mot de passe choisi."))
            } catch let error as TenancyError where error.code == .invalidInvitation {
                return Self.deadInvitation
            } catch let error as TenancyError where error.code == .invalidPassword || error.code == .invalidName {
                return PublicPage.html(.unprocessableContent, AccountPage.invitationForm(
                    token: token, name: name, error: AccountPage.refusal(error)))
            }
        }
    }

    @Sendable func resetPage(request: Request, context: AppRequestContext) async throws -> Response {
        let token = request.uri.queryParameters.get("token") ?? ""
        return await page {
            guard try await users.resetTokenIsOpen(token) else { return Self.deadReset }
            return PublicPage.html(.ok, AccountPage.resetForm(token: token, error: nil))
        }
    }

    @Sendable func resetPassword(request: Request, context: AppRequestContext) async throws -> Response {
        let form = await SurveyPageRoutes.form(request, context: context)
        let token = form["token"] ?? request.uri.queryParameters.get("token") ?? ""
        return await page {
            guard try await users.resetTokenIsOpen(token) else { return Self.deadReset }
            let password = form["password"] ?? ""
            if password != form["password_confirmation"] {
                return PublicPage.html(.unprocessableContent, AccountPage.resetForm(token: token, error: AccountPage.mismatch))
            }
            do {
                let user = try await users.resetPassword(token: token, password: password, audit: AuthRoutes.accountAudit)
                authenticator.invalidate()
                return PublicPage.html(.ok, AccountPage.message(
                    title: "Mot de passe changé",
                    text: "C'est fait : vous pouvez vous connecter avec votre adresse \(user.email) et le nouveau mot de passe. "
                        + "Vos autres sessions ont été fermées."))
            } catch let error as TenancyError where error.code == .invalidResetToken {
                return Self.deadReset
            } catch let error as TenancyError where error.code == .invalidPassword {
                return PublicPage.html(.unprocessableContent, AccountPage.resetForm(token: token, error: AccountPage.refusal(error)))
            }
        }
    }

    // MARK: Plumbing

    static var deadInvitation: Response {
        PublicPage.html(.badRequest, AccountPage.message(
            title: "Lien d'invitation non valable",
            text: "Ce lien d'invitation ne peut plus servir : il a déjà été utilisé, il a expiré, ou il est incomplet. "
                + "Demandez une nouvelle invitation à la personne qui vous a invité(e).", isError: true))
    }

    static var deadReset: Response {
        PublicPage.html(.badRequest, AccountPage.message(
            title: "Lien non valable",
            text: "Ce lien de changement de mot de passe ne peut plus servir : il a déjà été utilisé, il a expiré "
                + "(il vaut une heure), ou il est incomplet. Vous pouvez en demander un nouveau.", isError: true))
    }

    /// Runs the page's work; any other failure (the database away…) is a 503 page, logged.
    private func page(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            logger.error("account page failed", metadata: ["error": "\(error)"])
            return PublicPage.html(.serviceUnavailable, AccountPage.message(
                title: "Service indisponible", text: "Le service est indisponible pour un moment. Réessayez dans quelques minutes.",
                isError: true))
        }
    }

}

/// The account pages' HTML, in French. Everything from the request or the database is escaped.
enum AccountPage {
    static let mismatch = "Les deux mots de passe ne sont pas identiques."

    static func refusal(_ error: TenancyError) -> String {
        switch error.code {
        case .invalidPassword:
            "Le mot de passe doit compter au moins \(PasswordHasher.minimumLength) caractères (et au plus \(PasswordHasher.maximumBytes) octets)."
        case .invalidName:
            "Le nom peut compter au plus 200 caractères."
        default:
            error.message
        }
    }

    static func invitationForm(token: String, name: String, error: String?) -> String {
        let e = HTMLText.escape
        return document(title: "Accepter l'invitation", body: """
            <h1>Accepter l'invitation</h1>
            <p>Choisissez le mot de passe de votre accès à Clientele (au moins \(PasswordHasher.minimumLength) caractères).</p>
            \(error.map { "<p class=\"error\" role=\"alert\">\(e($0))</p>" } ?? "")
            <form method="post" action="/accept-invitation">
            <input type="hidden" name="token" value="\(e(token))">
            <p><label for="name">Votre nom (facultatif)</label><br>
            <input id="name" name="name" type="text" maxlength="200" autocomplete="name" value="\(e(name))"></p>
            <p><label for="password">Mot de passe</label><br>
            <input id="password" name="password" type="password" minlength="\(PasswordHasher.minimumLength)" required autocomplete="new-password"></p>
            <p><label for="password_confirmation">Le même mot de passe, une seconde fois</label><br>
            <input id="password_confirmation" name="password_confirmation" type="password" required autocomplete="new-password"></p>
            <p><button type="submit">Créer mon accès</button></p>
            </form>
            """)
    }

    static func resetForm(token: String, error: String?) -> String {
        let e = HTMLText.escape
        return document(title: "Nouveau mot de passe", body: """
            <h1>Nouveau mot de passe</h1>
            <p>Choisissez votre nouveau mot de passe (au moins \(PasswordHasher.minimumLength) caractères). Vos sessions ouvertes seront fermées.</p>
            \(error.map { "<p class=\"error\" role=\"alert\">\(e($0))</p>" } ?? "")
            <form method="post" action="/reset-password">
            <input type="hidden" name="token" value="\(e(token))">
            <p><label for="password">Nouveau mot de passe</label><br>
            <input id="password" name="password" type="password" minlength="\(PasswordHasher.minimumLength)" required autocomplete="new-password"></p>
            <p><label for="password_confirmation">Le même mot de passe, une seconde fois</label><br>
            <input id="password_confirmation" name="password_confirmation" type="password" required autocomplete="new-password"></p>
            <p><button type="submit">Changer mon mot de passe</button></p>
            </form>
            """)
    }

    static func message(title: String, text: String, isError: Bool = false) -> String {
        let e = HTMLText.escape
        return document(title: title, body: """
            <h1>\(e(title))</h1>
            <p\(isError ? " class=\"error\" role=\"alert\"" : "")>\(e(text))</p>
            """)
    }

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="fr">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex">
        <title>\(HTMLText.escape(title)) · Clientele</title>
        <style>
        body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 32em; margin: 0 auto; padding: 1em; color: #1a1a1a; }
        input { font: inherit; width: 100%; box-sizing: border-box; padding: 0.4em; }
        button { font: inherit; padding: 0.6em 1.4em; border: 0; border-radius: 4px; background: #1f5fbf; color: #ffffff; }
        .error { color: #a00000; font-weight: bold; }
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }
}
