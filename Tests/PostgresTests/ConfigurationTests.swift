import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Connection configuration")
struct ConfigurationTests {
    @Test("a URL gives host, port, user, password, database and extra keywords")
    func parsesURL() throws {
        let configuration = try PostgresConfiguration(url: "postgres://app:p%40ss%2541word@db.example:6543/crm?sslmode=require")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.user == "app")
        #expect(configuration.password == "p@ss%41word")
        #expect(configuration.database == "crm")
        #expect(configuration.extra["sslmode"] == "require")
    }

    @Test("defaults fill what a URL leaves out")
    func defaults() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://localhost")
        #expect(configuration.port == 5432)
        #expect(configuration.user == "postgres")
        #expect(configuration.password == nil)
        #expect(configuration.database == "postgres")
    }

    @Test("what is not a postgres URL is refused", arguments: ["", "mysql://x/y", "not a url", "http://host/db"])
    func refused(url: String) {
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: url) }
    }

    @Test("the description never shows the password")
    func redacted() throws {
        let configuration = try PostgresConfiguration(url: "postgres://app:hunter2@db:5432/crm")
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description.contains("***"))
        #expect(!"\(configuration)".contains("hunter2"))
    }

    enum Mood: String, PostgresDecodable, PostgresEncodable { case calm, busy }

    @Test("string-backed enums are bound by raw value; an unknown value is a decoding error")
    func enums() async throws {
        let client = TestDatabase.makeClient(try await TestDatabase.fresh("config"), maximumConnections: 1)
        let row = try #require(try await client.query("SELECT \(Mood.busy)::text, 'angry'::text").first)
        #expect(try row.decode(Mood.self, at: 0) == .busy)
        let error = try #require(throws: PostgresError.self) { try row.decode(Mood.self, at: 1) }
        #expect(error.code == .decoding)
        await client.shutdown()
    }
}
