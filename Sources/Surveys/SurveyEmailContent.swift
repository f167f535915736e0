import Foundation
import Tenancy

/// Where the public survey pages are served, for the links in emails:
/// `CLIENTELE_PUBLIC_URL` (e.g. `https://avis.example.fr`), else the server's own address.
public struct SurveyLinks: Sendable, Hashable {
    public let baseURL: String

    public init(baseURL: String) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
    }

    /// From the environment, with the server's address as the default.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       host: String, port: Int) -> SurveyLinks {
        if let url = environment["CLIENTELE_PUBLIC_URL"], !url.isEmpty { return SurveyLinks(baseURL: url) }
        return SurveyLinks(baseURL: "http://\(host):\(port)")
    }

    public func page(_ token: SurveyToken) -> String { "\(baseURL)/s/\(token.text)" }
    public func unsubscribe(_ token: SurveyToken) -> String { "\(baseURL)/s/\(token.text)/unsubscribe" }
}

/// Writes the invitation and reminder emails. Clients have no language of their own in the
/// client base, so emails are in French; the page offers English.
enum SurveyEmailContent {
    static func email(
        invitationID: UUID, to address: String, campaign: SurveyCampaign, settings: SurveySettings, token: SurveyToken,
        links: SurveyLinks, isReminder: Bool, language: SurveyLanguage = .fr
    ) -> SurveyEmail {
        let texts = SurveyTexts(language)
        let page = links.page(token), unsubscribe = links.unsubscribe(token)
        let question = campaign.question(language)
        let opening = isReminder ? texts.reminder : texts.invitation
        let signature = settings.senderName.map { "\n\($0)" } ?? ""
        let text = """
            \(texts.greeting)

            \(opening)

            \(question)

            \(texts.answerLink) : \(page)

            \(texts.thanksSignature)\(signature)

            --
            \(texts.unsubscribeLine) \(unsubscribe)

            """
        let e = HTMLText.escape
        let html = """
            <!DOCTYPE html>
            <html lang="\(texts.htmlLanguage)"><head><meta charset="utf-8"><title>\(e(texts.title))</title></head>
            <body style="font-family: sans-serif; line-height: 1.5; max-width: 36em; margin: 0 auto; padding: 1em;">
            <p>\(e(texts.greeting))</p>
            <p>\(e(opening))</p>
            <p><strong>\(e(question))</strong></p>
            <p><a href="\(e(page))" style="display: inline-block; padding: 0.6em 1.2em; background: #1f5fbf; color: #ffffff; text-decoration: none; border-radius: 4px;">\(e(texts.answerLink))</a></p>
            <p>\(e(texts.thanksSignature))\(settings.senderName.map { "<br>" + e($0) } ?? "")</p>
            <p style="font-size: 0.85em; color: #555555;">\(e(texts.unsubscribeLine)) <a href="\(e(unsubscribe))">\(e(texts.unsubscribeLink))</a></p>
            </body></html>

            """
        let subject = isReminder ? texts.reminderSubject : texts.subject
        return SurveyEmail(
            invitationID: invitationID, to: address, fromName: settings.senderName, replyTo: settings.replyTo,
            subject: subject, text: text, html: html, surveyURL: page, listUnsubscribe: unsubscribe,
            language: language, isReminder: isReminder)
    }
}
