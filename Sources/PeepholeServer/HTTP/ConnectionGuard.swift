import Atomics
import NIOCore
import NIOHTTPTypes

/// The number of open connections, shared by every connection's `ConnectionGuard`.
final class ConnectionCounter: Sendable {
    /// The most connections served at once.
    let limit: Int
    private let open = ManagedAtomic(0)

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection; false (and not counted) when `limit` are already open.
    func acquire() -> Bool {
        if open.wrappingIncrementThenLoad(ordering: .relaxed) <= limit { return true }
        open.wrappingDecrement(ordering: .relaxed)
        return false
    }

    /// Uncounts a connection.
    func release() { open.wrappingDecrement(ordering: .relaxed) }

    /// The connections open now.
    var current: Int { open.load(ordering: .relaxed) }
}

/// Protects the server from abusive connections: closes a connection past `max_connections`
/// as soon as it opens, and one whose request head does not arrive whole within
/// `header_timeout_seconds` — of the connection's start, or of the previous response's end —
/// however slowly it trickles in (slowloris). Idle keep-alive connections are closed by the
/// HTTP channel's own idle timeout.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let headerTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var counted = false
    private var started = false

    init(counter: ConnectionCounter, headerTimeout: TimeAmount) {
        self.counter = counter
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard counter.acquire() else {
            context.close(promise: nil)
            return
        }
        counted = true
        arm(context)
    }

    /// Closes the connection unless a request head arrives within the timeout.
    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: headerTimeout) {
            channel.close(promise: nil)
        }
    }

    private func stop() {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            counter.release()
        }
    }
}
