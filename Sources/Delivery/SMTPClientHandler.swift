import NIOCore
import NIOTLS

/// A command to send (none for the greeting) and the promise of its reply. Written into the
/// channel, so async code never touches the handler off its event loop.
struct SMTPExchange: Sendable {
    var command: ByteBuffer?
    var timeout: TimeAmount
    var reply: EventLoopPromise<SMTPReply>
}

/// Why an exchange got no reply.
enum SMTPTransportError: Error {
    case timedOut(TimeAmount)
    /// The server closed the connection (or it was reset) before replying.
    case closed
    case failed(any Error)
}

/// Matches replies to exchanges in order, one timer per exchange. Any failure (timeout, close,
/// TLS or protocol error) fails every waiting exchange and closes the channel: an SMTP session
/// that lost step is never reused.
final class SMTPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = SMTPReply
    typealias OutboundIn = SMTPExchange
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<(reply: EventLoopPromise<SMTPReply>, timer: Scheduled<Void>)>()
    private var failure: SMTPTransportError?
    /// The greeting, when the server sent it before the client asked for it (it speaks first,
    /// as soon as the connection opens). Any other reply nobody waits for ends the session.
    private var greeting: SMTPReply?
    private var asked = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        if let failure {
            exchange.reply.fail(failure)
            promise?.fail(failure)
            return
        }
        defer { asked = true }
        if !asked, exchange.command == nil, let greeting {
            self.greeting = nil
            exchange.reply.succeed(greeting)
            promise?.succeed()
            return
        }
        let loop = context.eventLoop.assumeIsolated()
        let timer = loop.scheduleTask(in: exchange.timeout) { [weak self] () -> Void in
            self?.fail(.timedOut(exchange.timeout), context: context)
        }
        waiting.append((reply: exchange.reply, timer: timer))
        if let command = exchange.command {
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenFailure { [weak self] error in
                self?.fail(.failed(error), context: context)
            }
            if let promise { written.futureResult.cascade(to: promise) }
            context.write(wrapOutboundOut(command), promise: written)
        } else {
            promise?.succeed()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let next = waiting.popFirst() else {
            if !asked && greeting == nil {
                greeting = reply
                return
            }
            // A reply nobody asked for: the server is out of step (or injecting after STARTTLS).
            fail(.failed(SMTPProtocolError("unsolicited reply \(reply.text)")), context: context)
            return
        }
        next.timer.cancel()
        next.reply.succeed(reply)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.failed(error), context: context)
    }

    private func fail(_ error: SMTPTransportError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        let reason = failure ?? error
        while let next = waiting.popFirst() {
            next.timer.cancel()
            next.reply.fail(reason)
        }
        context.close(promise: nil)
    }
}

/// Placed right after the TLS handler on STARTTLS: completes when the handshake does, so a
/// certificate the client refuses fails the STARTTLS stage rather than the next command.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) {
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            done.succeed()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(SMTPTransportError.closed)
        context.fireChannelInactive()
    }
}
