import Atomics
import HTTPTypes
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

}

/// Protects the server from abusive connections: answers a request on a connection past
/// `max_connections` with 503 and closes it — except the health probes (`probeRoutes`), which are
/// served on any connection, so that an orchestrator still sees the server alive and ready while
/// clients hold every connection — and closes one whose first request head does not arrive whole within
/// `header_timeout_seconds` of the connection's start, however slowly it trickles in
/// (slowloris). On a keep-alive connection the next head must arrive whole within
/// `idle_timeout_seconds` of the previous response, so trickling bytes cannot hold it open
/// either; a connection with no bytes at all is closed by the HTTP channel's own idle timeout.
/// A request's body must arrive whole within `body_timeout_seconds` of its head (slow POST):
/// past it the request fails with `RequestBodyTimeout` (answered 408, `Connection: close`), and
/// the connection is closed 2 s later whether or not the answer could be written.
///
/// It never closes a connection while the channel is being set up: Hummingbird wraps it in an
/// async channel right after, and closing before that would tear the wrapper down unfinished.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Set once a body missed its deadline: what else arrives is dropped.
    private var bodyTimedOut = false
    /// Whether the request now arriving on a refused connection is a health probe, served anyway.
    private var probe = false

    /// The routes served past `max_connections`: liveness and readiness, Peephole's and KServe V2's.
    static let probeRoutes: Set<String> = ["/health", "/ready", "/v2/health/live", "/v2/health/ready"]
    private var counted = false
    private var started = false
    private var refused = false

    init(counter: ConnectionCounter, headerTimeout: TimeAmount, bodyTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.counter = counter
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused {
            switch unwrapInboundIn(data) {
            case let .head(head): probe = head.method == .get && Self.probeRoutes.contains(head.path ?? "")
            case .body: break
            case .end where !probe: return refuse(context)
            case .end: break
            }
            if probe { context.fireChannelRead(data) }
            return
        }
        guard !bodyTimedOut else { return }
        switch unwrapInboundIn(data) {
        case .head: armBodyDeadline(context)
        case .end:
            timer?.cancel()
            timer = nil
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context, within: idleTimeout) }
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
        if counter.acquire() {
            counted = true
        } else {
            refused = true
        }
        arm(context, within: headerTimeout)
    }

    /// Answers a request on a connection past the limit with 503 and closes the connection.
    private func refuse(_ context: ChannelHandlerContext) {
        let error = ErrorResponse(ServerError.tooManyConnections)
        let body = error.body
        var head = HTTPResponse(status: error.status, headerFields: error.headers)
        head.headerFields[.connection] = "close"
        head.headerFields[.contentType] = "application/json; charset=utf-8"
        head.headerFields[.contentLength] = String(body.count)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Fails the request unless its body has arrived whole within `body_timeout_seconds`.
    private func armBodyDeadline(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: bodyTimeout) { [weak self, bodyTimeout] in
            guard let self else { return }
            self.bodyTimedOut = true
            context.fireErrorCaught(RequestBodyTimeout(seconds: Int(bodyTimeout.nanoseconds / 1_000_000_000)))
            self.timer = context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    /// Closes the connection unless a request head arrives within `timeout`.
    private func arm(_ context: ChannelHandlerContext, within timeout: TimeAmount) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) {
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

/// A request body that did not arrive whole within `body_timeout_seconds`.
struct RequestBodyTimeout: Error, Equatable {
    /// The deadline it missed.
    let seconds: Int
}
