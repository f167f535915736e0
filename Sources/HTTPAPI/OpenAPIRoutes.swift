import Hummingbird

/// The OpenAPI 3.1 document of this API (`Sources/HTTPAPI/openapi.json`), as compiled in.
public enum APIDocument {
    public static var json: [UInt8] { PackageResources.openapi_json }
}

/// `GET /openapi.json`: the document, public like the health routes, so tools can read it
/// before they hold a key.
struct OpenAPIRoutes {
    func register(on router: Router<AppRequestContext>) {
        router.get("openapi.json") { _, _ in
            JSONBody.response(bytes: APIDocument.json)
        }
    }
}
