import NIOCore
import NIOHTTP1

/// The receiver's answer: its status, its Retry-After, and the start of its body for the error message.
struct WebhookResponse: Sendable {
    var status: Int
    var retryAfter: String?
    var bodyPrefix: String
}

enum WebhookTransportError: Error {
    case timedOut
    /// The connection closed before a response head arrived.
    case closed
}

/// Completes the promise with the first response; the sender closes the connection after it.
final class WebhookResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private static let bodyLimit = 512
    private let promise: EventLoopPromise<WebhookResponse>
    private var response: WebhookResponse?

    init(promise: EventLoopPromise<WebhookResponse>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response = WebhookResponse(status: Int(head.status.code), retryAfter: head.headers.first(name: "Retry-After"), bodyPrefix: "")
        case .body(var buffer):
            if var response, response.bodyPrefix.utf8.count < Self.bodyLimit {
                let room = Self.bodyLimit - response.bodyPrefix.utf8.count
                response.bodyPrefix += buffer.readString(length: min(room, buffer.readableBytes)) ?? ""
                self.response = response
            }
        case .end:
            if let response { promise.succeed(response) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A response without a length ends when the connection does.
        if let response { promise.succeed(response) } else { promise.fail(WebhookTransportError.closed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let response { promise.succeed(response) } else { promise.fail(error) }
        context.close(promise: nil)
    }
}
