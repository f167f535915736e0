import Foundation
import Postgres
import Testing
import TestSupport

@Suite("LISTEN/NOTIFY")
struct ListenNotifyTests {
    @Test("a listener receives notifications sent on its channels only")
    func receives() async throws {
        let configuration = try await TestDatabase.fresh("listen")
        let client = TestDatabase.makeClient(configuration)
        let listener = PostgresListener(configuration: configuration, channels: ["jobs", "other channel"], logger: TestDatabase.logger)
        let events = listener.events()
        listener.start()
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == .listening)
        try await client.notify(channel: "ignored", payload: "no")
        try await client.notify(channel: "jobs", payload: "wake up")
        try await client.notify(channel: "other channel", payload: "quoted channel works")
        #expect(try await nextNotification(&iterator) == ["jobs", "wake up"])
        #expect(try await nextNotification(&iterator) == ["other channel", "quoted channel works"])
        await listener.stop()
        await client.shutdown()
    }

    private func nextNotification(_ iterator: inout AsyncStream<PostgresListener.Event>.Iterator) async throws -> [String] {
        guard case .notification(let notification) = await iterator.next() else {
            Issue.record("expected a notification")
            return []
        }
        return [notification.channel, notification.payload]
    }
}
