import ClientBase
import Foundation
import Hummingbird
import NIOCore

/// `POST /v1/imports/clients` and `POST /v1/imports/purchases`: a CSV body (`text/csv`), options
/// as query parameters. 200 with the report when the rows were written (or a dry run found
/// nothing wrong); 422 problem+json carrying the same report when rows were refused and
/// nothing was written.
struct ImportRoutes {
    let clients: ClientImporter
    let purchases: PurchaseImporter

    /// A CSV of 100,000 clients is about 15 MB.
    static let maximumSize = 50 * 1024 * 1024
    static let parameters: Set<String> = ["dry_run", "skip_invalid", "allow_duplicates", "allow_erased", "mapping"]

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("clients") { request, context in
            try await Self.run(request, context) { try await clients.run($0, options: $1, as: $2) }
        }
        group.post("purchases") { request, context in
            try await Self.run(request, context) { try await purchases.run($0, options: $1, as: $2) }
        }
    }

    static func run(
        _ request: Request, _ context: AppRequestContext,
        _ importer: ([UInt8], ImportOptions, Actor) async throws -> ImportReport
    ) async throws -> Response {
        let (csv, options) = try await read(request, context: context)
        do {
            return response(try await importer(csv, options, try context.requireActor()), options, request, context)
        } catch let error as CSVError {
            throw Problem(status: .unprocessableContent, slug: "invalid-csv", title: "Unreadable CSV",
                          detail: error.message + "; nothing was imported")
        }
    }

    static func read(_ request: Request, context: AppRequestContext) async throws -> ([UInt8], ImportOptions) {
        let parameters = request.uri.queryParameters
        try QueryParameters.refuseUnknown(parameters, allowed: Self.parameters)
        var options = ImportOptions()
        options.dryRun = try QueryParameters.bool(parameters, "dry_run") ?? false
        options.skipInvalid = try QueryParameters.bool(parameters, "skip_invalid") ?? false
        options.allowDuplicates = try QueryParameters.bool(parameters, "allow_duplicates") ?? false
        options.allowErased = try QueryParameters.bool(parameters, "allow_erased") ?? false
        if let text = parameters.get("mapping") { options.mapping = try mapping(String(text)) }
        _ = try context.requireActor()
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("text/csv") else {
            throw Problem(status: .unsupportedMediaType, slug: "unsupported-media-type", title: "Unsupported media type",
                          detail: "send the file as text/csv (UTF-8, a header row, ',' or ';' between fields)")
        }
        do {
            let buffer = try await request.body.collect(upTo: maximumSize)
            let bytes = Array(buffer.readableBytesView)
            guard !bytes.isEmpty else { throw Problem.badRequest("the body is empty; send the CSV file") }
            return (bytes, options)
        } catch is NIOTooManyBytesError {
            throw Problem(status: .contentTooLarge, slug: "too-large", title: "Body too large",
                          detail: "the file is larger than the 50 MB an import accepts; split it")
        }
    }

    /// `{"Nom": "last_name", "Code client": "external_ref", "Fax": null}`.
    static func mapping(_ text: String) throws -> [String: String?] {
        let invalid = Problem.badRequest(
            "mapping must be a JSON object from column names to field names (or null to ignore a column), like {\"Nom\": \"last_name\"}",
            field: "mapping")
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw invalid }
        var mapping: [String: String?] = [:]
        for (column, target) in object {
            switch target {
            case let name as String: mapping[column] = .some(name)
            case is NSNull: mapping[column] = .some(nil)
            default: throw invalid
            }
        }
        return mapping
    }

    static func response(_ report: ImportReport, _ options: ImportOptions, _ request: Request, _ context: AppRequestContext) -> Response {
        let rejected = !report.errors.isEmpty && !options.skipInvalid
        var writer = JSONWriter()
        writer.raw("{\"created\":"); writer.ascii(String(report.created))
        if rejected {
            writer.raw(",\"detail\":")
            writer.string("\(report.errors.count) error(s) in the file; nothing was imported. Fix the rows, or send skip_invalid=true to import the others")
        }
        writer.raw(report.dryRun ? ",\"dry_run\":true" : ",\"dry_run\":false")
        writer.raw(",\"errors\":[")
        for (index, error) in report.errors.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"column\":"); writer.string(error.column)
            writer.raw(",\"field\":"); writer.string(error.field)
            writer.raw(",\"line\":"); writer.ascii(String(error.line))
            writer.raw(",\"message\":"); writer.string(error.message)
            writer.raw("}")
        }
        writer.raw("],\"ignored_columns\":"); writer.strings(report.ignoredColumns)
        writer.raw(",\"import_id\":"); writer.id(report.importID)
        if rejected {
            writer.raw(",\"instance\":"); writer.string(request.uri.path)
            writer.raw(",\"request_id\":"); writer.string(context.requestID)
        }
        writer.raw(",\"rows\":"); writer.ascii(String(report.rows))
        writer.raw(",\"skipped\":"); writer.ascii(String(report.skipped))
        if rejected {
            writer.raw(",\"status\":422,\"title\":\"Rows refused\",\"type\":\"/problems/import-rejected\"")
        }
        writer.raw(",\"unchanged\":"); writer.ascii(String(report.unchanged))
        writer.raw(",\"updated\":"); writer.ascii(String(report.updated))
        writer.raw(report.written ? ",\"written\":true}" : ",\"written\":false}")
        guard rejected else { return JSONBody.response(bytes: writer.bytes) }
        return Response(status: .unprocessableContent, headers: [.contentType: "application/problem+json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
