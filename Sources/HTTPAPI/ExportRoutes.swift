import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore

/// `GET /v1/exports/clients.csv` and `GET /v1/exports/clients.json`: every client the filters of
/// `GET /v1/clients` select (no pages), streamed in batches as they are read.
struct ExportRoutes {
    let export: ClientExport

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("clients.csv", use: csv)
        group.get("clients.json", use: json)
    }

    /// The list's filters and sort; not its page parameters.
    static let parameters = ClientRoutes.listParameters.subtracting(["limit", "cursor"])

    /// The list query, and the filters as given (for the audit entry).
    static func query(_ request: Request, extra: Set<String> = []) throws -> (ClientListQuery, [(String, String)]) {
        let parameters = request.uri.queryParameters
        try QueryParameters.refuseUnknown(parameters, allowed: Self.parameters.union(extra))
        let filters = parameters.filter { !extra.contains(String($0.key)) }
        let query = try ClientRoutes.listQuery(FlatDictionary(Array(filters)))
        return (query, filters.map { (String($0.key), String($0.value)) })
    }

    @Sendable func csv(request: Request, context: AppRequestContext) async throws -> Response {
        let (query, filters) = try Self.query(request, extra: ["delimiter"])
        let delimiter: UInt8
        switch request.uri.queryParameters.get("delimiter") {
        case nil, "semicolon": delimiter = UInt8(ascii: ";")
        case "comma": delimiter = UInt8(ascii: ",")
        default: throw Problem.badRequest("delimiter must be semicolon (the default, for French Excel) or comma", field: "delimiter")
        }
        let actor = try context.requireActor()
        let keys = try await export.start(format: "csv", filters: filters, as: actor)
        let export = self.export
        let body = ResponseBody { writer in
            var head = CSVWriter(delimiter: delimiter)
            head.bytes = CSVWriter.byteOrderMark
            head.row(ClientCSV.header(customFieldKeys: keys))
            try await writer.write(ByteBuffer(bytes: head.bytes))
            try await export.forEachBatch(query, as: actor) { clients in
                var rows = CSVWriter(delimiter: delimiter)
                for client in clients { rows.row(ClientCSV.row(client, customFieldKeys: keys)) }
                try await writer.write(ByteBuffer(bytes: rows.bytes))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [
            .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"clients.csv\"",
        ], body: body)
    }

    @Sendable func json(request: Request, context: AppRequestContext) async throws -> Response {
        let (query, filters) = try Self.query(request)
        let actor = try context.requireActor()
        _ = try await export.start(format: "json", filters: filters, as: actor)
        let export = self.export
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "{\"items\":["))
            var first = true
            try await export.forEachBatch(query, as: actor) { clients in
                var json = JSONWriter()
                for client in clients {
                    if !first { json.raw(",") }
                    first = false
                    json.write(client)
                }
                try await writer.write(ByteBuffer(bytes: json.bytes))
            }
            try await writer.write(ByteBuffer(string: "]}"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [
            .contentType: "application/json; charset=utf-8", .contentDisposition: "attachment; filename=\"clients.json\"",
        ], body: body)
    }
}
