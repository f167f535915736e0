import ClientBase
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Postgres
import Surveys
import Tenancy

/// The public survey pages, without a credential: `GET|POST /s/{token}` (the questions, the
/// answer taken once) and `GET|POST /s/{token}/unsubscribe`. HTML that works without
/// JavaScript and on a phone, French by default, English with `?lang=en` or an
/// Accept-Language that prefers it. Whatever happens, the answer is a page: an unknown token
/// is a 404 page, an expired one a 410 page, a failure a 503 page, never a JSON problem.
struct SurveyPageRoutes: Sendable {
    let responses: SurveyResponses
    let logger: Logger

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(":token", use: show)
        group.post(":token", use: answer)
        group.get(":token/unsubscribe", use: unsubscribePage)
        group.post(":token/unsubscribe", use: unsubscribe)
    }

    @Sendable func show(request: Request, context: AppRequestContext) async throws -> Response {
        let texts = SurveyTexts(Self.language(request, form: [:]))
        return await page(texts) {
            guard let invitation = try await responses.open(token(context)) else { return notFound(texts) }
            switch invitation.status {
            case .answered: return message(texts, .ok, texts.alreadyAnsweredTitle, texts.alreadyAnswered)
            case .expired:
                try await responses.markExpired(invitation)
                return message(texts, .gone, texts.expiredTitle, texts.expired)
            case .open: return PublicPage.html(.ok, SurveyPage.form(invitation.campaign, texts: texts, action: formAction(request, context), error: nil))
            }
        }
    }

    @Sendable func answer(request: Request, context: AppRequestContext) async throws -> Response {
        let form = await Self.form(request, context: context)
        let language = Self.language(request, form: form)
        let texts = SurveyTexts(language)
        return await page(texts) {
            guard let invitation = try await responses.open(token(context)) else { return notFound(texts) }
            switch invitation.status {
            case .answered: return message(texts, .conflict, texts.alreadyAnsweredTitle, texts.alreadyAnswered)
            case .expired:
                try await responses.markExpired(invitation)
                return message(texts, .gone, texts.expiredTitle, texts.expired)
            case .open: break
            }
            let extras = invitation.campaign.extraQuestions.indices.map { form["q\($0 + 1)"] }
            let input = SurveyAnswerInput(score: form["score"].flatMap { Int($0) }, comment: form["comment"], extras: extras)
            do {
                switch try await responses.answer(invitation, input, language: language) {
                case .recorded: return message(texts, .ok, texts.thanksTitle, texts.thanks)
                case .alreadyAnswered: return message(texts, .conflict, texts.alreadyAnsweredTitle, texts.alreadyAnswered)
                case .expired: return message(texts, .gone, texts.expiredTitle, texts.expired)
                }
            } catch let error as ClientBaseError where error.code == .invalid {
                let text = error.field == "score" ? texts.scoreMissing : texts.invalidAnswer
                return PublicPage.html(.unprocessableContent,
                            SurveyPage.form(invitation.campaign, texts: texts, action: formAction(request, context), error: text))
            }
        }
    }

    @Sendable func unsubscribePage(request: Request, context: AppRequestContext) async throws -> Response {
        let texts = SurveyTexts(Self.language(request, form: [:]))
        return await page(texts) {
            guard try await responses.open(token(context)) != nil else { return notFound(texts) }
            return PublicPage.html(.ok, SurveyPage.unsubscribe(texts: texts, action: formAction(request, context, suffix: "/unsubscribe")))
        }
    }

    /// One click: a POST (RFC 8058 `List-Unsubscribe=One-Click` from a mail client, or the
    /// page's button) withdraws the consent at once.
    @Sendable func unsubscribe(request: Request, context: AppRequestContext) async throws -> Response {
        let form = await Self.form(request, context: context)
        let texts = SurveyTexts(Self.language(request, form: form))
        return await page(texts) {
            guard try await responses.unsubscribe(token(context)) else { return notFound(texts) }
            return message(texts, .ok, texts.unsubscribeTitle, texts.unsubscribed)
        }
    }

    // MARK: Plumbing

    private func token(_ context: AppRequestContext) -> String {
        context.parameters.get("token") ?? ""
    }

    /// Runs the page's work; any failure (the database away...) is a 503 page, logged.
    private func page(_ texts: SurveyTexts, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            logger.error("survey page failed", metadata: ["error": "\(error)"])
            return message(texts, .serviceUnavailable, texts.unavailableTitle, texts.unavailable)
        }
    }

    private func notFound(_ texts: SurveyTexts) -> Response {
        message(texts, .notFound, texts.notFoundTitle, texts.notFound)
    }

    private func message(_ texts: SurveyTexts, _ status: HTTPResponse.Status, _ title: String, _ text: String) -> Response {
        PublicPage.html(status, SurveyPage.message(texts: texts, title: title, text: text))
    }

    /// The form posts back to the same page, keeping an explicit language choice.
    private func formAction(_ request: Request, _ context: AppRequestContext, suffix: String = "") -> String {
        "/s/\(token(context))\(suffix)" + (request.uri.queryParameters.get("lang").map { "?lang=\($0 == "en" ? "en" : "fr")" } ?? "")
    }

    /// `?lang=` (or the form's `lang`) first, then Accept-Language's preference between
    /// French and English; French by default.
    static func language(_ request: Request, form: [String: String]) -> SurveyLanguage {
        if let chosen = request.uri.queryParameters.get("lang").map { String($0) } ?? form["lang"],
           let language = SurveyLanguage(rawValue: chosen.lowercased()) {
            return language
        }
        guard let header = request.headers[.acceptLanguage] else { return .fr }
        var best: (language: SurveyLanguage, quality: Double)?
        for entry in header.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first?.lowercased() else { continue }
            let primary = tag.split(separator: "-").first.map(String.init) ?? tag
            guard let language = SurveyLanguage(rawValue: primary) else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if quality > 0, quality > (best?.quality ?? 0) { best = (language, quality) }
        }
        return best?.language ?? .fr
    }

    /// An `application/x-www-form-urlencoded` body (up to the request limit) as a dictionary;
    /// anything unreadable is an empty form.
    static func form(_ request: Request, context: AppRequestContext) async -> [String: String] {
        guard let buffer = try? await request.body.collect(upTo: context.maxUploadSize) else { return [:] }
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ part: Substring) -> String? {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = parts.first.flatMap(decoded), form[name] == nil else { continue }
            form[name] = parts.count > 1 ? decoded(parts[1]) ?? "" : ""
        }
        return form
    }
}

/// The pages' HTML. Every text from a campaign or a client is escaped.
enum SurveyPage {
    static func document(_ texts: SurveyTexts, title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="\(texts.htmlLanguage)">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex">
        <title>\(HTMLText.escape(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 40em; margin: 0 auto; padding: 1em; color: #1a1a1a; }
        fieldset { border: 1px solid #cccccc; border-radius: 6px; margin: 0 0 1em; padding: 0.8em; }
        legend { font-weight: bold; padding: 0 0.3em; }
        .scale { display: flex; flex-wrap: wrap; gap: 0.3em; }
        .scale label { display: inline-flex; flex-direction: column; align-items: center; min-width: 2.6em; padding: 0.4em 0.2em;
                       border: 1px solid #bbbbbb; border-radius: 4px; cursor: pointer; }
        .ends { display: flex; justify-content: space-between; font-size: 0.85em; color: #555555; }
        textarea { width: 100%; box-sizing: border-box; min-height: 5em; font: inherit; }
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

    static func message(texts: SurveyTexts, title: String, text: String) -> String {
        document(texts, title: title, body: "<h1>\(HTMLText.escape(title))</h1>\n<p>\(HTMLText.escape(text))</p>")
    }

    static func form(_ campaign: SurveyCampaign, texts: SurveyTexts, action: String, error: String?) -> String {
        let e = HTMLText.escape
        let language = texts.language
        let (low, high): (String, String) = switch campaign.measure {
        case .nps: (texts.notLikely, texts.veryLikely)
        case .csat: (texts.scaleLow, texts.scaleHigh)
        case .ces: (texts.effortLow, texts.effortHigh)
        }
        var body = "<h1>\(e(texts.title))</h1>\n"
        if let error { body += "<p class=\"error\" role=\"alert\">\(e(error))</p>\n" }
        body += "<form method=\"post\" action=\"\(e(action))\">\n"
        body += "<input type=\"hidden\" name=\"lang\" value=\"\(language.rawValue)\">\n"
        body += scale(name: "score", legend: campaign.question(language), values: campaign.measure.scale, low: low, high: high,
                      required: true)
        for (index, question) in campaign.extraQuestions.enumerated() {
            let name = "q\(index + 1)"
            switch question.type {
            case .scale:
                body += scale(name: name, legend: question.text(language) + " (\(texts.optional))", values: 1...5,
                              low: texts.scaleLow, high: texts.scaleHigh, required: false)
            case .text:
                body += "<fieldset><legend><label for=\"\(name)\">\(e(question.text(language)))</label></legend>"
                body += "<textarea id=\"\(name)\" name=\"\(name)\" maxlength=\"1000\"></textarea></fieldset>\n"
            }
        }
        body += "<fieldset><legend><label for=\"comment\">\(e(texts.commentLabel))</label></legend>"
        body += "<textarea id=\"comment\" name=\"comment\" maxlength=\"\(SurveyResponses.maximumCommentLength)\"></textarea></fieldset>\n"
        body += "<p><button type=\"submit\">\(e(texts.submit))</button></p>\n</form>"
        return document(texts, title: texts.title, body: body)
    }

    static func scale(name: String, legend: String, values: ClosedRange<Int>, low: String, high: String, required: Bool) -> String {
        let e = HTMLText.escape
        var html = "<fieldset><legend>\(e(legend))</legend>\n<div class=\"scale\">"
        for value in values {
            html += "<label><input type=\"radio\" name=\"\(name)\" value=\"\(value)\"\(required ? " required" : "")>\(value)</label>"
        }
        html += "</div>\n<div class=\"ends\"><span>\(e(low))</span><span>\(e(high))</span></div></fieldset>\n"
        return html
    }

    static func unsubscribe(texts: SurveyTexts, action: String) -> String {
        let e = HTMLText.escape
        return document(texts, title: texts.unsubscribeTitle, body: """
            <h1>\(e(texts.unsubscribeTitle))</h1>
            <p>\(e(texts.unsubscribeQuestion))</p>
            <form method="post" action="\(e(action))">
            <input type="hidden" name="List-Unsubscribe" value="One-Click">
            <input type="hidden" name="lang" value="\(texts.language.rawValue)">
            <p><button type="submit">\(e(texts.unsubscribeButton))</button></p>
            </form>
            """)
    }
}
