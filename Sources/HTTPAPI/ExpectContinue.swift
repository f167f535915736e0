import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with `100 Continue` as soon as the request's head is read.
/// A client that asks waits for that answer before it sends the body, and sends it anyway after
/// a timeout if none comes: curl asks for every body over 1 MB and waits one second, which was a
/// tenth of a 100,000-row CSV import (RFC 9110, section 10.1.1). Every route that takes a body
/// reads it, so the answer is always to go on; an error is still answered once the body is in.
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var request) = unwrapInboundIn(data),
              let expectation = request.headerFields[.expect],
              expectation.lowercased() == "100-continue"
        else {
            context.fireChannelRead(data)
            return
        }
        // Written from here, the interim answer passes under the handlers that follow this one
        // (Hummingbird's connection state), which see only the request and its final response.
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        request.headerFields[.expect] = nil
        context.fireChannelRead(wrapInboundOut(.head(request)))
    }
}
