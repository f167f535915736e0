import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Seeding known data sets for the analytics tests, through the API.
extension TestClientProtocol {
    /// A purchase bought by `buyer` on `on`; margin and market fields only when given.
    @discardableResult
    func buy(_ buyer: String, key: String, amount: String, margin: String? = nil, on date: String,
             zone: String? = nil, line: String? = nil) async throws -> String {
        var fields = [#""buyer_id": "\#(buyer)""#, #""amount": "\#(amount)""#, #""purchased_on": "\#(date)""#]
        if let margin { fields.append(#""margin": "\#(margin)""#) }
        if let zone { fields.append(#""market_zone": "\#(zone)""#) }
        if let line { fields.append(#""product_line": "\#(line)""#) }
        let purchase = try await create("/v1/purchases", key: key, "{" + fields.joined(separator: ", ") + "}")
        return try #require(purchase["id"] as? String)
    }

    /// GETs a report, expecting 200, and returns its JSON object.
    func report(_ path: String, key: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let response = try await call(.get, path, key: key)
        #expect(response.status == .ok, "\(path): \(response.text)", sourceLocation: sourceLocation)
        return response.json
    }
}

/// Reading reports: nested objects and lists, and numbers as JSON numbers.
extension Dictionary where Key == String, Value == Any {
    func object(_ key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
    func list(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    func number(_ key: String) -> Double? { (self[key] as? NSNumber)?.doubleValue }
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func text(_ key: String) -> String? { self[key] as? String }
}
