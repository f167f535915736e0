import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One signed POST: the JSON body, the secret it is signed with, and the id the receiver
/// deduplicates on (the same for every attempt of one delivery).
public struct WebhookRequest: Sendable {
    public var url: String
    public var body: [UInt8]
    public var deliveryID: String
    public var secret: String

    public init(url: String, body: [UInt8], deliveryID: String, secret: String) {
        self.url = url
        self.body = body
        self.deliveryID = deliveryID
        self.secret = secret
    }

    public init(url: String, json: String, deliveryID: String, secret: String) {
        self.init(url: url, body: Array(json.utf8), deliveryID: deliveryID, secret: secret)
    }
}

public struct WebhookReceipt: Sendable, Hashable {
    public var statusCode: Int
    public var deliveryID: String
    /// The `Clientele-Timestamp` the request was signed with.
    public var timestamp: Int
}

/// Posts signed JSON over HTTP/1.1 (http or https), one connection per request, closed after
/// the response. A small NIO client rather than async-http-client: one POST with no redirects,
/// no pool and no streaming needs little, and avoids a heavy dependency.
public struct WebhookSender: Sendable {
    public struct Configuration: Sendable {
        /// For the whole request: connecting, sending and the response head.
        public var timeout: TimeAmount
        public var trust: TLSTrust
        public var userAgent: String

        public init(timeout: TimeAmount = .seconds(10), trust: TLSTrust = .systemDefault, userAgent: String = "Clientele-Webhooks/1") {
            self.timeout = timeout
            self.trust = trust
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration
    private let eventLoopGroup: any EventLoopGroup
    private let tlsContext: NIOSSLContext
    private let logger: Logger

    public init(
        configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "clientele.delivery.webhook")
    ) throws {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        tlsContext = try configuration.trust.makeContext()
    }

    /// Posts the request, signed at `now`. Returns on a 2xx; throws a `WebhookError` otherwise
    /// (or `CancellationError`).
    ///
    /// `beforeWrite` runs once connected, right before the first byte of the request is written:
    /// the point after which the receiver may have the request (a caller that sends at most once
    /// records it there). If it throws, nothing is written and its error is rethrown. After it, a
    /// `WebhookError` with a `statusCode` means the receiver answered; a timeout or a connection
    /// lost without an answer leaves the outcome unknown.
    public func send(
        _ request: WebhookRequest, now: Date = Date(), beforeWrite: (@Sendable () async throws -> Void)? = nil
    ) async throws -> WebhookReceipt {
        let target = try WebhookTarget(request.url)
        guard !request.deliveryID.isEmpty, request.deliveryID.utf8.count <= 200,
              request.deliveryID.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 })
        else { throw WebhookError(.permanent, "the delivery id must be 1 to 200 visible ASCII characters") }

        let timestamp = Int(now.timeIntervalSince1970.rounded(.down))
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "User-Agent", value: configuration.userAgent)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(request.body.count)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Clientele-Timestamp", value: "\(timestamp)")
        headers.add(name: "Clientele-Signature", value: WebhookSignature.sign(body: request.body, timestamp: timestamp, secret: request.secret))
        headers.add(name: "Clientele-Delivery", value: request.deliveryID)
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.pathAndQuery, headers: headers)

        let response = try await exchange(target: target, head: head, body: ByteBuffer(bytes: request.body), beforeWrite: beforeWrite)
        logger.debug("webhook answered", metadata: ["delivery": "\(request.deliveryID)", "status": "\(response.status)"])
        switch response.status {
        case 200..<300:
            return WebhookReceipt(statusCode: response.status, deliveryID: request.deliveryID, timestamp: timestamp)
        case let status:
            let detail = response.bodyPrefix.trimmingCharacters(in: .whitespacesAndNewlines)
            throw WebhookError(WebhookError.isTransient(status: status) ? .transient : .permanent, statusCode: status,
                               retryAfter: response.retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
                               "the receiver answered \(status)" + (detail.isEmpty ? "" : ": \(detail.prefix(200))"))
        }
    }

    private func exchange(
        target: WebhookTarget, head: HTTPRequestHead, body: ByteBuffer, beforeWrite: (@Sendable () async throws -> Void)?
    ) async throws -> WebhookResponse {
        let loop = eventLoopGroup.next()
        let promise = loop.makePromise(of: WebhookResponse.self)
        let tlsContext = target.isTLS ? self.tlsContext : nil
        let serverName = TLSTrust.serverName(for: target.host)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(configuration.timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(WebhookResponseHandler(promise: promise))
                }
            }
        let deadline = NIODeadline.now() + configuration.timeout
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        } catch {
            promise.fail(WebhookTransportError.closed)
            throw WebhookError(.transient, "cannot connect to \(target.host):\(target.port): \(error)")
        }
        if let beforeWrite {
            do {
                try await beforeWrite()
            } catch {
                promise.fail(WebhookTransportError.closed)
                channel.close(promise: nil)
                throw error
            }
        }
        let timer = loop.scheduleTask(deadline: deadline) {
            promise.fail(WebhookTransportError.timedOut)
            channel.close(promise: nil)
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await withTaskCancellationHandler {
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            do {
                return try await promise.futureResult.get()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                switch error {
                case WebhookTransportError.timedOut:
                    throw WebhookError(.transient, "no response within \(configuration.timeout.nanoseconds / 1_000_000) ms")
                case WebhookTransportError.closed:
                    throw WebhookError(.transient, "the receiver closed the connection before answering")
                default:
                    throw WebhookError(.transient, "connection failed: \(error)")
                }
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// The parts of an http(s) URL the request needs.
struct WebhookTarget {
    var isTLS: Bool
    var host: String
    var port: Int
    var pathAndQuery: String
    var hostHeader: String

    init(_ text: String) throws {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = components.host, !host.isEmpty, components.user == nil
        else { throw WebhookError(.permanent, "the webhook URL must be http(s)://host/..., got \"\(text)\"") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        isTLS = scheme == "https"
        let defaultPort = isTLS ? 443 : 80
        port = components.port ?? defaultPort
        self.host = host
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        pathAndQuery = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let shownHost = host.contains(":") ? "[\(host)]" : host
        hostHeader = port == defaultPort ? shownHost : "\(shownHost):\(port)"
    }
}
