import Foundation

/// The texts of the account emails, in French (users have no language of their own yet), each
/// with a plain-text and an HTML part. Every name or address from the database is escaped in
/// the HTML part.
public enum AccountEmailTexts {
    struct Invitation: Sendable {
        var email: String
        var name: String?
        var role: String
        var accountSlug: String
        var accountName: String
        var expiresAt: Date
        /// The inviting user's name or email, when a user invited.
        var inviter: String?
    }

    struct Reset: Sendable {
        var email: String
        var name: String?
        var accountSlug: String
        var accountName: String
        var expiresAt: Date
    }

    static func invitation(_ invitation: Invitation, reference: String, link: String) -> AccountEmail {
        let greeting = invitation.name.map { "Bonjour \($0)," } ?? "Bonjour,"
        let who = invitation.inviter.map { "\($0) vous invite" } ?? "Vous êtes invité(e)"
        let opening = "\(who) à rejoindre le compte « \(invitation.accountName) » sur Clientele, "
            + "avec le rôle \(roleName(invitation.role))."
        let action = "Pour accepter, choisissez votre mot de passe sur cette page :"
        let login = "Vous vous connecterez ensuite avec le compte « \(invitation.accountSlug) », "
            + "votre adresse \(invitation.email) et ce mot de passe."
        let validity = "Ce lien est valable jusqu'au \(frenchDate(invitation.expiresAt)) (heure de Paris) et ne sert qu'une fois."
        let ignore = "Si vous ne vous attendiez pas à cette invitation, ignorez ce message : rien ne sera créé sans vous."
        let subject = "Invitation à rejoindre \(invitation.accountName) sur Clientele"
        return AccountEmail(
            kind: .invitation, reference: reference, to: invitation.email, subject: subject,
            text: text([greeting, opening, action, link, login, validity, ignore]),
            html: html(title: subject, paragraphs: [greeting, opening, action], link: link,
                       button: "Accepter l'invitation", after: [login, validity, ignore]),
            link: link)
    }

    static func passwordReset(_ reset: Reset, reference: String, link: String) -> AccountEmail {
        let greeting = reset.name.map { "Bonjour \($0)," } ?? "Bonjour,"
        let opening = "Quelqu'un (vous, sans doute) a demandé à changer le mot de passe de votre accès "
            + "au compte « \(reset.accountName) » (\(reset.accountSlug)) sur Clientele, pour l'adresse \(reset.email)."
        let action = "Pour choisir un nouveau mot de passe, ouvrez cette page :"
        let validity = "Ce lien est valable une heure, jusqu'à \(frenchTime(reset.expiresAt)) (heure de Paris), et ne sert qu'une fois. "
            + "Le changement ferme toutes vos sessions ouvertes."
        let ignore = "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste le même."
        let subject = "Nouveau mot de passe pour \(reset.accountName) sur Clientele"
        return AccountEmail(
            kind: .passwordReset, reference: reference, to: reset.email, subject: subject,
            text: text([greeting, opening, action, link, validity, ignore]),
            html: html(title: subject, paragraphs: [greeting, opening, action], link: link,
                       button: "Choisir un nouveau mot de passe", after: [validity, ignore]),
            link: link)
    }

    // MARK: Pieces

    static func text(_ paragraphs: [String]) -> String {
        paragraphs.joined(separator: "\n\n") + "\n\n-- \nClientele\n"
    }

    static func html(title: String, paragraphs: [String], link: String, button: String, after: [String]) -> String {
        let e = HTMLText.escape
        let before = paragraphs.map { "<p>\(e($0))</p>" }.joined(separator: "\n")
        let rest = after.map { "<p>\(e($0))</p>" }.joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html lang="fr"><head><meta charset="utf-8"><title>\(e(title))</title></head>
            <body style="font-family: sans-serif; line-height: 1.5; max-width: 36em; margin: 0 auto; padding: 1em;">
            \(before)
            <p><a href="\(e(link))" style="display: inline-block; padding: 0.6em 1.2em; background: #1f5fbf; color: #ffffff; text-decoration: none; border-radius: 4px;">\(e(button))</a></p>
            <p style="font-size: 0.85em; color: #555555;">\(e(link))</p>
            \(rest)
            </body></html>

            """
    }

    /// The role as the French interface names it.
    static func roleName(_ role: String) -> String {
        switch role {
        case "owner": "propriétaire"
        case "admin": "administrateur"
        case "manager": "responsable"
        case "agent": "commercial (agent)"
        case "viewer": "lecture seule"
        default: role
        }
    }

    static let months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                         "septembre", "octobre", "novembre", "décembre"]

    static func parisComponents(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris") ?? .gmt
        return calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
    }

    /// `11 décembre 2026 à 14 h 05`
    static func frenchDate(_ date: Date) -> String {
        let c = parisComponents(date)
        return "\(c.day ?? 1) \(months[(c.month ?? 1) - 1]) \(c.year ?? 0) à \(frenchTime(date))"
    }

    /// `14 h 05`
    static func frenchTime(_ date: Date) -> String {
        let c = parisComponents(date)
        let minute = c.minute ?? 0
        return "\(c.hour ?? 0) h \(minute < 10 ? "0" : "")\(minute)"
    }
}
