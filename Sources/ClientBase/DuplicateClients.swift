import Foundation
import Postgres

/// A new client shares an email, phone or SIREN with existing clients (409 `duplicate`).
public struct DuplicateClientsError: Error, Sendable {
    /// The matching clients the actor may see (an agent is told that a client assigned to
    /// someone else matches, not which one).
    public var matches: [UUID]
    /// All the matching clients, seen or not.
    public var count: Int
    public var message: String {
        "this client looks like \(count == 1 ? "an existing client" : "\(count) existing clients")"
            + " (same email, phone or SIREN)" + (matches.count < count ? ", some not assigned to you" : "")
            + "; update or merge it, or send ?allow_duplicate=true to go ahead anyway"
    }
}

/// A likely duplicate of a client, and why.
public struct DuplicateCandidate: Sendable {
    public enum Reason: String, Sendable, CaseIterable {
        case email, phone, siren, name
    }

    public var client: Client
    public var reasons: [Reason]
    /// pg_trgm similarity of the two folded names, 0 to 1.
    public var nameSimilarity: Double
}

enum DuplicateClients {
    /// Names this similar (pg_trgm, 0 to 1) count as likely duplicates.
    static let nameThreshold = 0.6

    /// Clients with the same email, phone (as digits) or SIREN as `client`, among those the
    /// actor may see. Concurrent creations of one identifier wait for each other, so two
    /// requests cannot both pass the check.
    static func sameIdentifiers(as client: Client, as actor: Actor, in session: PostgresSession) async throws -> DuplicateClientsError? {
        let phone: String? = client.phone
        guard client.email != nil || phone != nil || client.siren != nil else { return nil }
        let rows = try await session.pipeline([
            """
            SELECT count(pg_advisory_xact_lock(hashtext(current_schema() || ' ' || k)))
            FROM (SELECT k FROM unnest(ARRAY['email ' || \(client.email), 'phone ' || phone_digits(\(phone)),
                                             'siren ' || \(client.siren)]) AS k
                  WHERE k IS NOT NULL ORDER BY k) AS keys
            """,
            """
            SELECT id, \(fragment: actor.access.condition()) FROM clients
            WHERE (email = \(client.email) OR phone_normalised = phone_digits(\(phone)) OR siren = \(client.siren))
              AND id <> \(client.id)
            ORDER BY id LIMIT 20
            """,
        ])
        let matches = try rows[1].map { (try $0.decode(UUID.self, at: 0), try $0.decode(Bool.self, at: 1)) }
        guard !matches.isEmpty else { return nil }
        return DuplicateClientsError(matches: matches.filter(\.1).map(\.0), count: matches.count)
    }
}

extension ClientRepository {
    /// Likely duplicates of a client: same email, phone or SIREN, or a very similar name;
    /// identifier matches first, then by name similarity.
    public func duplicates(of id: UUID, as actor: Actor) async throws -> [DuplicateCandidate] {
        try actor.require(.readClients)
        return try await database.withTenantTransaction(actor.scope) { session in
            let found = try await session.query("""
                SELECT email, phone_normalised, siren, sort_name FROM clients
                WHERE id = \(id) AND \(fragment: actor.access.condition())
                """)
            guard let me = found.first else { throw Self.notFound(id) }
            let email: String? = try me.decode(at: 0), phone: String? = try me.decode(at: 1)
            let siren: String? = try me.decode(at: 2), name: String = try me.decode(at: 3)
            let byName: PostgresQuery = name.isEmpty
                ? "FALSE"
                : "(c.sort_name OPERATOR(extensions.%) \(name) AND extensions.similarity(c.sort_name, \(name)) >= \(DuplicateClients.nameThreshold))"
            let rows = try await session.query("""
                SELECT \(fragment: Client.columns(of: "c")),
                       c.email = \(email), c.phone_normalised = \(phone), c.siren = \(siren),
                       \(fragment: byName), extensions.similarity(c.sort_name, \(name))::float8
                FROM clients c
                WHERE c.id <> \(id) AND \(fragment: actor.access.condition(column: "c.assigned_user_id"))
                  AND (c.email = \(email) OR c.phone_normalised = \(phone) OR c.siren = \(siren) OR \(fragment: byName))
                ORDER BY (c.email = \(email) OR c.phone_normalised = \(phone) OR c.siren = \(siren)) IS TRUE DESC,
                         extensions.similarity(c.sort_name, \(name)) DESC, c.id
                LIMIT 50
                """)
            return try rows.map { row in
                let base = row.columnCount - 5
                var reasons: [DuplicateCandidate.Reason] = []
                for (offset, reason) in DuplicateCandidate.Reason.allCases.enumerated()
                where try row.decode(Bool?.self, at: base + offset) == true {
                    reasons.append(reason)
                }
                return DuplicateCandidate(client: try Client(row: row), reasons: reasons,
                                          nameSimilarity: try row.decode(Double.self, at: base + 4))
            }
        }
    }
}
