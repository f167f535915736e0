import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

/// An agent reaches the records around the clients assigned to them, and nothing else: what
/// hangs off another client is "not found", and naming another client is refused like naming
/// one that does not exist. Tested at the repository level (users and login come separately).
@Suite("Agents and the records around the purchase")
struct AroundAgentScopeTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    func expectError(
        _ code: ClientBaseError.Code, field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("expected \(code)", sourceLocation: sourceLocation)
        } catch let error as ClientBaseError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            if let field { #expect(error.field == field, "\(error)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("an agent reads, lists and changes only the records of their assigned clients")
    func agentScope() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let mine = try await client.newClient(key: key)
            let theirs = try await client.newClient(key: key)
            let agentID = UUID()
            _ = try await harness.sql(["UPDATE clients SET assigned_user_id = \(agentID) WHERE id = \(UUID(uuidString: mine)!)"])
            let scope = try await harness.scope()
            let agent = Actor(scope: scope, role: .agent, userID: agentID, label: "user:\(agentID.uuidString.lowercased())")
            let (mineID, theirsID) = (UUID(uuidString: mine)!, UUID(uuidString: theirs)!)

            func id(_ record: [String: Any]) -> UUID { UUID(uuidString: record["id"] as? String ?? "") ?? UUID() }
            let myPurchase = id(try await client.create("/v1/purchases", key: key, #"{"buyer_id": "\#(mine)", "amount": "10"}"#))
            let theirPurchase = id(try await client.create("/v1/purchases", key: key, #"{"buyer_id": "\#(theirs)", "amount": "20"}"#))
            let theirCall = id(try await client.create("/v1/interactions", key: key,
                #"{"client_id": "\#(theirs)", "channel": "phone", "subject": "Not yours"}"#))
            let tie = id(try await client.create("/v1/relationships", key: key,
                #"{"from_client_id": "\#(mine)", "to_client_id": "\#(theirs)", "type": "referred"}"#))
            _ = try await client.create("/v1/payments", key: key, #"{"client_id": "\#(theirs)", "amount": "20", "due_on": "2024-01-01"}"#)

            let purchases = PurchaseRepository(database: harness.database)
            #expect(try await purchases.get(myPurchase, as: agent).amount == 10)
            await expectError(.notFound) { _ = try await purchases.get(theirPurchase, as: agent) }
            #expect(try await purchases.list(.init(), as: agent).items.map(\.id) == [myPurchase])
            await expectError(.notFound) {
                var changes = PurchaseChanges()
                changes.note = .set("mine now")
                _ = try await purchases.update(theirPurchase, changes, as: agent)
            }

            // Naming a client they cannot see is refused like naming none.
            var buyTheirs = PurchaseChanges()
            buyTheirs.buyerID = .set(theirsID)
            buyTheirs.amount = .set(5)
            await expectError(.invalid, field: "buyer_id") { _ = try await purchases.create(buyTheirs, as: agent) }
            var forTheirs = PurchaseChanges()
            forTheirs.buyerID = .set(mineID)
            forTheirs.consumerIDs = .set([theirsID])
            forTheirs.amount = .set(5)
            await expectError(.invalid, field: "consumer_ids") { _ = try await purchases.create(forTheirs, as: agent) }
            forTheirs.consumerIDs = .unchanged
            #expect(try await purchases.create(forTheirs, as: agent).buyerID == mineID)

            let interactions = InteractionRepository(database: harness.database)
            await expectError(.notFound) { _ = try await interactions.get(theirCall, as: agent) }
            await expectError(.forbidden) { try await interactions.delete(theirCall, as: agent) }
            var call = InteractionChanges()
            call.clientID = .set(theirsID)
            call.channel = .set(.visit)
            call.subject = .set("Hello")
            await expectError(.invalid, field: "client_id") { _ = try await interactions.create(call, as: agent) }
            call.clientID = .set(mineID)
            #expect(try await interactions.create(call, as: agent).author == agent.label)

            var complaint = ComplaintChanges()
            complaint.clientID = .set(mineID)
            complaint.category = .set(.billing)
            complaint.purchaseID = .set(theirPurchase)
            await expectError(.invalid, field: "purchase_id") { _ = try await ComplaintRepository(database: harness.database).create(complaint, as: agent) }

            #expect(try await PaymentRepository(database: harness.database).list(.init(), as: agent).items.isEmpty)

            // A relationship hangs off both its clients.
            let relationships = RelationshipRepository(database: harness.database)
            await expectError(.notFound) { _ = try await relationships.get(tie, as: agent) }
            #expect(try await relationships.list(.init(), as: agent).items.isEmpty)

            let timelines = TimelineRepository(database: harness.database)
            await expectError(.notFound) { _ = try await timelines.timeline(of: theirsID, TimelineQuery(), as: agent) }
            let timeline = try await timelines.timeline(of: mineID, TimelineQuery(), as: agent)
            #expect(!timeline.items.contains { $0.type == .relationship })
            #expect(timeline.items.filter { $0.type == .purchase }.count == 2)
            // The owner sees the relationship on the same timeline.
            let owner = Actor.system(scope, label: "test")
            #expect(try await timelines.timeline(of: mineID, TimelineQuery(), as: owner).items.contains { $0.type == .relationship })
        }
    }

    @Test("a viewer reads but does not write")
    func viewer() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let viewer = Actor(scope: try await harness.scope(), role: .viewer, userID: nil, label: "api-key:viewer")
            var payment = PaymentChanges()
            payment.clientID = .set(UUID(uuidString: customer)!)
            payment.amount = .set(10)
            payment.dueOn = .set(PostgresDate(year: 2024, month: 1, day: 1))
            await expectError(.forbidden) { _ = try await PaymentRepository(database: harness.database).create(payment, as: viewer) }
            #expect(try await PaymentRepository(database: harness.database).list(.init(), as: viewer).items.isEmpty)
        }
    }
}
