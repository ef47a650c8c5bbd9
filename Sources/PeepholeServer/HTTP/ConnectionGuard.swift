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
///
/// The deadlines are times, checked by one repeating tick per connection (a tenth of the shortest
/// timeout, at least 100 ms): a request sets or clears a time instead of scheduling and
/// cancelling a timer, which cost about 7% of `/predict` throughput at 64 connections.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// When the connection must next have made progress, and what happens if it has not.
    private var deadline: (at: NIODeadline, missed: Missed)?
    private var ticker: RepeatedTask?

    /// What a missed deadline does.
    private enum Missed {
        /// Close the connection (head, idle, and after a body timeout).
        case close
        /// Fail the request whose body is late.
        case body
    }
    /// Set once a body missed its deadline: what else arrives is dropped.
    private var bodyTimedOut = false
    /// Whether the request now arriving on a refused connection is a health probe, served anyway.
    private var probe = false

    /// The routes served past `max_connections`: liveness and readiness, Peephole's and KServe V2's.
    static let probeRoutes: Set<String> = ["/health", "/ready", "/v2/health/live", "/v2/health/ready"]
    private var counted = false
    /// Requests read whole on this connection and not yet answered, as counted in `LoopRequests`.
    private var unanswered = 0
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
        case .head: deadline = (.now() + bodyTimeout, .body)
        case .end:
            deadline = nil
            unanswered += 1
            LoopRequests.received()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            deadline = (.now() + idleTimeout, .close)
            // An answer to a request not yet read whole (an early error) was never counted.
            if unanswered > 0 {
                unanswered -= 1
                LoopRequests.answered()
            }
        }
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
        deadline = (.now() + headerTimeout, .close)
        let tick = max(TimeAmount.milliseconds(100), TimeAmount.nanoseconds(min(headerTimeout, bodyTimeout, idleTimeout).nanoseconds / 10))
        // The tick runs on the channel's event loop, where the handler and its context live.
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.handler.check(bound.value.context)
        }
    }

    /// Acts on a deadline that has passed: closes the connection, or fails the late body's
    /// request with `RequestBodyTimeout` (answered 408) and closes 2 s later.
    private func check(_ context: ChannelHandlerContext) {
        guard let (at, missed) = deadline, at <= .now() else { return }
        switch missed {
        case .close:
            deadline = nil
            context.channel.close(promise: nil)
        case .body:
            bodyTimedOut = true
            deadline = (.now() + .seconds(2), .close)
            context.fireErrorCaught(RequestBodyTimeout(seconds: Int(bodyTimeout.nanoseconds / 1_000_000_000)))
        }
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

    private func stop() {
        ticker?.cancel()
        ticker = nil
        deadline = nil
        if unanswered > 0 {
            LoopRequests.answered(unanswered)
            unanswered = 0
        }
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
