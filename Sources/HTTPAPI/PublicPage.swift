import HTTPTypes
import Hummingbird
import NIOCore

/// What every public page without a credential answers with (the survey pages, the account
/// pages): HTML never cached, never indexed, its token-bearing URL never sent on to another
/// site, and no script or outside resource allowed.
enum PublicPage {
    static func html(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            // The token is in the URL: never sent on to another site.
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Robots-Tag")!: "noindex",
            HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
