import Foundation
import Postgres

/// A contact with a client (DOMAIN.md section 2, relationship history): when, how, about what,
/// what came of it and what comes next. The author is whoever recorded it.
public struct Interaction: Sendable, Hashable {
    public enum Channel: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case visit, phone, email, letter, video, social, event, other
    }

    public enum Direction: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case inbound, outbound
    }

    public var id: UUID
    public var clientID: UUID
    public var occurredAt: Date
    public var channel: Channel
    public var direction: Direction?
    public var subject: String
    public var outcome: String?
    public var nextStep: String?
    public var nextStepOn: PostgresDate?
    /// `user:<id>` or `api-key:<key id>`, set by the server.
    public var author: String
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        i.id, i.client_id, i.occurred_at, i.channel, i.direction, i.subject, i.outcome, i.next_step, i.next_step_on,
        i.author, i.created_at, i.updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        clientID = try row.decode(at: 1)
        occurredAt = try row.decode(at: 2)
        channel = try row.decode(at: 3)
        direction = try row.decode(at: 4)
        subject = try row.decode(at: 5)
        outcome = try row.decode(at: 6)
        nextStep = try row.decode(at: 7)
        nextStepOn = try row.decode(at: 8)
        author = try row.decode(at: 9)
        createdAt = try row.decode(at: 10)
        updatedAt = try row.decode(at: 11)
    }

    init(id: UUID, clientID: UUID, channel: Channel, subject: String, author: String, now: Date) {
        self.id = id
        self.clientID = clientID
        self.occurredAt = now
        self.channel = channel
        self.subject = subject
        self.author = author
        createdAt = now
        updatedAt = now
    }

    func validate() throws {
        if nextStepOn != nil, nextStep == nil {
            throw ClientBaseError(.invalid, "next_step_on needs a next_step saying what is due", field: "next_step")
        }
    }

    var auditSnapshot: AuditSnapshot {
        [
            "client_id": clientID.auditValue, "occurred_at": .text(Timestamps.iso(occurredAt)),
            "channel": channel.auditValue, "direction": AuditValue(direction?.rawValue), "subject": .text(subject),
            "outcome": AuditValue(outcome), "next_step": AuditValue(nextStep), "next_step_on": AuditValue(nextStepOn),
            "author": .text(author),
        ]
    }
}

/// The writable fields of an interaction. `author` is read-only: the server sets it.
public struct InteractionChanges: Sendable, Hashable, Decodable {
    public var clientID: FieldChange<UUID> = .unchanged
    public var occurredAt: FieldChange<Date> = .unchanged
    public var channel: FieldChange<Interaction.Channel> = .unchanged
    public var direction: FieldChange<Interaction.Direction> = .unchanged
    public var subject: FieldChange<String> = .unchanged
    public var outcome: FieldChange<String> = .unchanged
    public var nextStep: FieldChange<String> = .unchanged
    public var nextStepOn: FieldChange<PostgresDate> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["client_id", "occurred_at", "channel", "direction", "subject", "outcome", "next_step", "next_step_on"],
            readOnly: ["id", "author", "created_at", "updated_at"])
        clientID = try body.id("client_id")
        occurredAt = try body.timestamp("occurred_at")
        channel = try body.enumeration("channel")
        direction = try body.enumeration("direction")
        subject = try body.text("subject")
        outcome = try body.text("outcome", maximumLength: 2000)
        nextStep = try body.text("next_step", maximumLength: 500)
        nextStepOn = try body.date("next_step_on")
    }

    func newInteraction(id: UUID, author: String, now: Date) throws -> Interaction {
        guard let client = clientID.value else {
            throw ClientBaseError(.invalid, "field 'client_id' is required", field: "client_id")
        }
        guard let channel = channel.value else {
            let allowed = Interaction.Channel.allCases.map(\.rawValue).joined(separator: ", ")
            throw ClientBaseError(.invalid, "field 'channel' is required (\(allowed))", field: "channel")
        }
        guard let subject = subject.value else {
            throw ClientBaseError(.invalid, "field 'subject' is required", field: "subject")
        }
        var interaction = Interaction(id: id, clientID: client, channel: channel, subject: subject, author: author, now: now)
        try apply(to: &interaction)
        return interaction
    }

    func apply(to interaction: inout Interaction) throws {
        try clientID.apply(to: &interaction.clientID, name: "client_id")
        try occurredAt.apply(to: &interaction.occurredAt, name: "occurred_at")
        try channel.apply(to: &interaction.channel, name: "channel")
        direction.apply(to: &interaction.direction)
        try subject.apply(to: &interaction.subject, name: "subject")
        outcome.apply(to: &interaction.outcome)
        nextStep.apply(to: &interaction.nextStep)
        nextStepOn.apply(to: &interaction.nextStepOn)
        try interaction.validate()
    }
}
