import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Surveys
import Testing

/// A mailer that records what it was given and behaves as told. The real SMTP client and its
/// loopback-SMTP tests come with the delivery layer; here the delivery rule is what is tested.
final class RecordingMailer: SurveyMailer, @unchecked Sendable {
    enum Behaviour: Sendable {
        /// The server accepts the message.
        case accept
        /// The server refuses before the final "." (a 4xx or 5xx reply).
        case refuse(SurveyMailRefusal)
        /// The connection drops after the final ".": nobody knows whether it was taken.
        case dropAfterCommit
    }

    private let lock = NSLock()
    private var _sent: [SurveyEmail] = []
    private var _attempts = 0
    private var behaviour: Behaviour

    init(_ behaviour: Behaviour = .accept) {
        self.behaviour = behaviour
    }

    var sent: [SurveyEmail] { lock.withLock { _sent } }
    var attempts: Int { lock.withLock { _attempts } }
    func behave(_ behaviour: Behaviour) { lock.withLock { self.behaviour = behaviour } }

    struct ConnectionLost: Error {}

    func send(_ email: SurveyEmail, beforeCommit: @escaping @Sendable () async throws -> Void) async throws {
        let behaviour = lock.withLock { _attempts += 1; return self.behaviour }
        switch behaviour {
        case .refuse(let refusal):
            throw refusal
        case .accept:
            try await beforeCommit()
            lock.withLock { _sent.append(email) }
        case .dropAfterCommit:
            try await beforeCommit()
            throw ConnectionLost()
        }
    }
}

extension APIHarness {
    static let links = SurveyLinks(baseURL: "https://avis.example.fr/")

    func delivery(_ mailer: RecordingMailer) -> SurveyDelivery {
        SurveyDelivery(database: database, mailer: mailer, links: Self.links)
    }

    /// Tenant A's invitations of a campaign: (id, client id, state, reason), in creation order.
    func invitations(_ campaignID: String) async throws -> [(id: UUID, client: String, state: String, reason: String?)] {
        let id = try #require(UUID(uuidString: campaignID))
        let rows = try await sql(["""
            SELECT id, client_id::text, state, reason FROM survey_invitations WHERE campaign_id = \(id) ORDER BY id
            """])
        return try rows[0].map { (try $0.decode(UUID.self, at: 0), try $0.decode(String.self, at: 1),
                                  try $0.decode(String.self, at: 2), try $0.decode(String?.self, at: 3)) }
    }

    /// Delivers every scheduled invitation of a campaign (what the deliver jobs do).
    func deliverAll(_ campaignID: String, with mailer: RecordingMailer) async throws -> [SurveyDelivery.Outcome] {
        let scope = try await scopeA()
        var outcomes: [SurveyDelivery.Outcome] = []
        for invitation in try await invitations(campaignID) where invitation.state == "scheduled" {
            outcomes.append(try await delivery(mailer).deliver(invitation.id, scope: scope))
        }
        return outcomes
    }
}

extension TestClientProtocol {
    /// A client with an email and the given survey consent; returns its id.
    func surveyClient(key: String, name: String = "Durand", email: String? = nil, consent: Bool = true,
                      extra: String = "") async throws -> String {
        let address = email ?? "\(name.lowercased())-\(UUID().uuidString.prefix(6).lowercased())@example.fr"
        return try await newClient(key: key, """
            {"kind": "individual", "last_name": "\(name)", "email": "\(address)",
             "consent": {"surveys": {"granted": \(consent), "source": "form"}}\(extra)}
            """)
    }

    /// Creates a campaign (manual NPS by default, fields overridden by `fields`); returns its id.
    func campaign(key: String, _ fields: String = "") async throws -> String {
        let defaults = [("name", #""Satisfaction""#), ("measure", #""nps""#), ("trigger", #""manual""#),
                        ("question_fr", #""Recommanderiez-vous notre magasin ?""#), ("question_en", #""Would you recommend our shop?""#)]
        var members = defaults.filter { !fields.contains("\"\($0.0)\"") }.map { "\"\($0.0)\": \($0.1)" }
        if !fields.isEmpty { members.append(fields) }
        let body = try await create("/v1/survey-campaigns", key: key, "{" + members.joined(separator: ", ") + "}")
        return try #require(body["id"] as? String)
    }

    /// `POST /v1/survey-campaigns/{id}/send`; returns (created, skipped by reason).
    func send(_ campaignID: String, key: String, _ json: String = "{}") async throws -> (Int, [String: Int]) {
        let response = try await call(.post, "/v1/survey-campaigns/\(campaignID)/send", key: key, json: json)
        #expect(response.status == .ok, "\(response.text)")
        let skipped = (response.json["skipped"] as? [String: Int]) ?? [:]
        return (response.json["created"] as? Int ?? -1, skipped)
    }

    /// A public page request (no credential), with an optional form body.
    func page(_ method: HTTPRequest.Method, _ path: String, form: String? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let response = try await execute(uri: path, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) })
        response.checkAgainstOpenAPI(method: method, uri: path, requestBody: nil)
        return response
    }
}

extension SurveyEmail {
    /// The page's path, `/s/<token>`, from the link in the email.
    var pagePath: String { String(surveyURL.dropFirst("https://avis.example.fr".count)) }
}
