import Hummingbird
import Postgres
import Prometheus

/// The server's Prometheus metrics: requests by route and status, their latency, and the
/// database pool. A registry of its own, not a global, so tests can build many servers.
public final class HTTPMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let database: PostgresClient
    private static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5),
    ]

    public init(database: PostgresClient) {
        self.database = database
    }

    func record(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        registry.makeCounter(
            descriptor: .init(metricName: "http_requests", unitName: "total", helpText: "HTTP requests served"),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
            labels: labels, buckets: Self.buckets
        ).record(duration)
    }

    /// The text exposition, with the pool figures read now.
    func exposition() -> [UInt8] {
        let statistics = database.statistics
        let pool: [(String, Int)] = [
            ("in_use", statistics.inUse), ("idle", statistics.idle), ("waiting", statistics.waiting),
            ("maximum", statistics.maximum),
        ]
        for (state, value) in pool {
            registry.makeGauge(
                descriptor: .init(metricName: "db_pool_connections", unitName: "", helpText: "Database pool connections by state"),
                labels: [("state", state)]
            ).set(Double(value))
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// Counts and times every request, labelled by its route pattern (not its raw path, which
/// would make one series per client id) and final status.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.record(
            method: request.method.rawValue,
            route: context.endpointPath ?? "unmatched",
            status: response.status.code,
            duration: start.duration(to: .now))
        return response
    }
}
