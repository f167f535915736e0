import Foundation
import Postgres
import Tenancy

extension DataRightsRepository {
    /// Erases a client's personal data (RGPD article 17) in one tenant transaction. The row
    /// stays with its id, kind, category, dates, amounts, acquisition and assignee, so revenue,
    /// Pareto and cohorts stay true; every other field is blanked, consent is withdrawn, and the
    /// free text around the client (contacts, complaints, purchase and relationship notes,
    /// payment incidents, category reasons, survey comments and extra answers, alert notes, delivery failures quoting
    /// their address) is blanked too. The audit entries about the client
    /// and its records keep their field names but lose personal values, the client's email,
    /// phone, SIREN and external_ref are replaced in any other audit entry, and stored
    /// idempotent responses naming the client are deleted. One `erase` audit entry records it.
    /// Erasing again blanks what was added since; the record itself can no longer be changed.
    /// Salted digests of the email, phone and SIREN are kept so an import cannot bring the
    /// person back unasked.
    public func erase(_ id: UUID, as actor: Actor) async throws -> ErasureOutcome {
        try actor.require(.dataRights)
        return try await database.withTenantTransaction(actor.scope) { session in
            _ = try await session.query("SELECT set_config('clientele.erasing', 'on', true)")
            let before = try await Self.lockedClient(id, as: actor, forUpdate: true, in: session)
            let records = Self.recordsOf(id)
            let identifiers = [before.email, before.phone, before.siren, before.externalRef].compactMap { $0 }
            let statements: [(String, PostgresQuery)] = [
                ("audit_log", Self.scrubAudit(records.auditCondition)),
                ("audit_log_identifiers", Self.scrubAudit(identifiers: identifiers)),
                ("category_changes", "UPDATE category_changes SET reason = NULL WHERE client_id = \(id) AND reason IS NOT NULL"),
                ("relationships", """
                    UPDATE relationships SET note = NULL, function = NULL
                    WHERE (from_client_id = \(id) OR to_client_id = \(id)) AND (note IS NOT NULL OR function IS NOT NULL)
                    """),
                ("purchases", "UPDATE purchases SET note = NULL WHERE id IN (\(fragment: records.purchases)) AND note IS NOT NULL"),
                ("interactions", """
                    UPDATE interactions SET subject = \(Self.erasedText), outcome = NULL, next_step = NULL
                    WHERE client_id = \(id) AND (subject <> \(Self.erasedText) OR outcome IS NOT NULL OR next_step IS NOT NULL)
                    """),
                ("complaints", "UPDATE complaints SET description = NULL WHERE client_id = \(id) AND description IS NOT NULL"),
                ("payments", "UPDATE payments SET incident_note = NULL WHERE client_id = \(id) AND incident_note IS NOT NULL"),
                ("survey_answers", """
                    UPDATE survey_answers SET comment = NULL, extra_answers = '[]'
                    WHERE client_id = \(id) AND (comment IS NOT NULL OR extra_answers <> '[]')
                    """),
                ("churn_alerts", "UPDATE churn_alerts SET note = NULL WHERE client_id = \(id) AND note IS NOT NULL"),
                ("survey_invitations", Self.scrubDeliveryReasons(of: id, mentioning: before.email)),
                ("idempotency_keys", "DELETE FROM idempotency_keys WHERE strpos(body, \(id.auditID)) > 0"),
                ("erased_identifiers", Self.rememberIdentifiers(of: id)),
                ("clients", Self.blankClient(id)),
            ]
            let rows = try await session.pipeline(statements.map(\.1))
            var counts: [String: Int] = [:]
            for (index, (table, _)) in statements.enumerated() where table != "erased_identifiers" {
                let name = table == "audit_log_identifiers" ? "audit_log" : table
                counts[name, default: 0] += rows[index].affectedRows
            }
            let client = try Client(row: rows[rows.count - 1][0])
            var after: AuditSnapshot = ["erased": .bool(true)]
            for (table, count) in counts where table != "clients" { after["blanked.\(table)"] = .integer(count) }
            _ = try await session.query(AuditLog.entry(by: actor, action: "erase", entity: "client", id: id.auditID, before: nil, after: after))
            return ErasureOutcome(client: client, rowsBlanked: counts)
        }
    }

    /// Salted digests of the client's email, phone and SIREN, so an import does not bring the
    /// person back unasked (see `ClientImporter`); the values themselves are blanked next.
    static func rememberIdentifiers(of id: UUID) -> PostgresQuery {
        """
        INSERT INTO erased_identifiers (digest)
        SELECT erased_identifier_digest(k.key)
        FROM clients c, unnest(ARRAY['email ' || c.email, 'phone ' || c.phone_normalised, 'siren ' || c.siren]) AS k (key)
        WHERE c.id = \(id) AND k.key IS NOT NULL
        ON CONFLICT (digest) DO NOTHING
        """
    }

    /// What replaces a personal value that cannot be null.
    static let erasedText = "[erased]"

    /// Every personal field blanked; consent withdrawn (dated, source `erasure`).
    static func blankClient(_ id: UUID) -> PostgresQuery {
        """
        UPDATE clients SET
            first_name = NULL, last_name = NULL, organisation_name = NULL, email = NULL, phone = NULL,
            city = NULL, postal_code = NULL, external_ref = NULL, category_reason = NULL, follow_up_on = NULL,
            address_line1 = NULL, address_line2 = NULL, website = NULL, trade_name = NULL, activity = NULL,
            siren = NULL, sector = NULL, headcount = NULL, legal_form = NULL, revenue = NULL, establishments_count = NULL,
            birth_date = NULL, marital_status = NULL, children_count = NULL, housing = NULL, occupation = NULL,
            income_bracket = NULL, tags = '{}', free_notes = NULL, custom_fields = '{}', needs = '{}', motivations = '{}',
            brakes = '{}', objections = '{}', purchase_stage = NULL,
            consent_surveys = false, consent_surveys_at = now(), consent_surveys_source = 'erasure',
            consent_marketing = false, consent_marketing_at = now(), consent_marketing_source = 'erasure',
            revision = revision + CASE WHEN erased_at IS NULL THEN 1 ELSE 0 END,
            erased_at = coalesce(erased_at, now()), updated_at = now()
        WHERE id = \(id)
        RETURNING \(fragment: Client.columns)
        """
    }

    /// Audit fields of a client entry that identify nobody, kept as they are.
    static let keptClientFields = [
        "kind", "category", "category_since", "assigned_user_id", "first_purchase_on", "last_purchase_on",
        "acquisition_channel", "acquisition_cost", "consent.surveys.granted", "consent.surveys.at",
        "consent.marketing.granted", "consent.marketing.at", "merged_from", "merged_into", "merge.moved_rows",
        "merge.dropped_rows", "personal_data", "erased",
    ]
    /// Free-text fields of the records around the client, which may name them.
    static let freeTextFields = [
        "note", "function", "subject", "outcome", "next_step", "description", "incident_note", "reason", "comment",
    ]

    /// A failed delivery's reason may quote the address the mail server refused.
    static func scrubDeliveryReasons(of id: UUID, mentioning email: String?) -> PostgresQuery {
        guard let email, !email.isEmpty else { return "SELECT 1 WHERE false" }
        return """
            UPDATE survey_invitations SET
                reason = CASE WHEN strpos(reason, \(email)) > 0 THEN \(erasedText) ELSE reason END,
                reminder_reason = CASE WHEN strpos(reminder_reason, \(email)) > 0 THEN \(erasedText) ELSE reminder_reason END
            WHERE client_id = \(id) AND (strpos(reason, \(email)) > 0 OR strpos(reminder_reason, \(email)) > 0)
            """
    }

    /// Entries about the client keep only the kept fields' values; entries about its records
    /// lose their free text. A value erased reads `"[erased]"` (null stays null), so the entry
    /// still says which fields changed.
    static func scrubAudit(_ condition: PostgresQuery) -> PostgresQuery {
        func erased(_ side: String) -> PostgresQuery {
            """
            CASE WHEN coalesce(e.value -> \(side), 'null'::jsonb) = 'null'::jsonb THEN 'null'::jsonb
                 ELSE to_jsonb(\(erasedText)::text) END
            """
        }
        return """
            UPDATE audit_log a SET changes = (
                SELECT coalesce(jsonb_object_agg(e.key, CASE
                    WHEN (a.entity = 'client' AND e.key <> ALL(\(keptClientFields)::text[]))
                      OR (a.entity <> 'client' AND e.key = ANY(\(freeTextFields)::text[]))
                    THEN jsonb_build_object('before', \(fragment: erased("before")), 'after', \(fragment: erased("after")))
                    ELSE e.value END), '{}'::jsonb)
                FROM jsonb_each(a.changes) AS e)
            WHERE \(fragment: condition)
            """
    }

    /// The client's identifiers (email, phone, SIREN, external_ref) replaced wherever an audit
    /// entry holds one as a whole JSON string (a merge, a deleted record...).
    static func scrubAudit(identifiers: [String]) -> PostgresQuery {
        guard !identifiers.isEmpty else { return "SELECT 1 WHERE false" }
        var text: PostgresQuery = "changes::text"
        for value in identifiers {
            text = "replace(\(fragment: text), to_jsonb(\(value)::text)::text, to_jsonb(\(erasedText)::text)::text)"
        }
        return """
            UPDATE audit_log SET changes = (\(fragment: text))::jsonb
            WHERE EXISTS (SELECT 1 FROM unnest(\(identifiers)::text[]) AS v (value)
                          WHERE strpos(changes::text, to_jsonb(v.value)::text) > 0)
            """
    }
}
