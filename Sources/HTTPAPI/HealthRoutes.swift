import Hummingbird
import Postgres

/// `/healthz` (the process answers), `/readyz` (the database answers), `/metrics`.
struct HealthRoutes {
    let database: PostgresClient
    let metrics: HTTPMetrics

    func register(on router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in
            try JSONBody.response(["status": "ok"])
        }
        router.get("readyz") { _, _ in
            do {
                _ = try await database.query("SELECT 1")
                return try JSONBody.response(["status": "ready"])
            } catch {
                throw Problem(status: .serviceUnavailable, slug: "not-ready", title: "Not ready",
                              detail: "the database does not answer: \(error)")
            }
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }
}
