import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Graceful shutdown")
struct ShutdownTests {
    @Test("a request in flight when shutdown starts is finished before the pool closes")
    func finishesInFlightRequests() async throws {
        // One pooled connection, held by the test: the request has to wait for it.
        let (database, directory) = try await TestDatabase.platform("shutdown", maximumConnections: 1)
        let key = try await directory.create(slug: "a", name: "A").key.token
        let server = APIServer(database: database, settings: .init(port: 0), listenForChanges: false, logger: TestDatabase.logger)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = server.makeApplication { portSink.yield($0) }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: TestDatabase.logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var portIterator = ports.makeAsyncIterator()
            let port = try #require(await portIterator.next())

            let (held, heldSink) = AsyncStream<Void>.makeStream()
            let (release, releaseSink) = AsyncStream<Void>.makeStream()
            tasks.addTask {
                try await database.withConnection { _ in
                    heldSink.yield()
                    for await _ in release { break }
                }
            }
            var heldIterator = held.makeAsyncIterator()
            _ = await heldIterator.next()

            let request = Task {
                try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                    try await client.get("/v1/clients", headers: [.authorization: "Bearer \(key)"])
                }
            }
            try await Task.sleep(for: .milliseconds(300))  // the request is now waiting for the database
            await group.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(300))
            releaseSink.yield()
            releaseSink.finish()

            let response = try await request.value
            #expect(response.status == .ok)
            try await tasks.waitForAll()
        }
        // The pool was closed after the request finished.
        await #expect(throws: (any Error).self) { try await database.query("SELECT 1") }
    }
}
