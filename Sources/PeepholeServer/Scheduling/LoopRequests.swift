import NIOPosix

/// The requests each event loop has read whole and not yet answered, counted per thread: every
/// connection's `ConnectionGuard` runs on its channel's event loop and counts there. Under
/// `peephole serve` a request's handler runs on that same loop, so the batcher reads here
/// whether other requests, already read by its loop, may be about to ask for a pass: then it
/// lets them join before the pass starts. On a thread that is not an event loop (tests' executors)
/// the count stays zero, and every request that finds a worker free runs at once.
enum LoopRequests {
    /// One thread's count, and that thread's identity for the batcher's groups.
    final class Count: @unchecked Sendable {
        // Only ever touched by the thread that owns it.
        fileprivate(set) var unanswered = 0
    }

    private static let counts = ThreadSpecificVariable<Count>()

    /// This thread's count, made on first use.
    static var current: Count {
        if let count = counts.currentValue { return count }
        let count = Count()
        counts.currentValue = count
        return count
    }

    /// A request was read whole on this thread's loop.
    static func received() { current.unanswered += 1 }

    /// `count` requests read on this thread's loop were answered (or their connection closed).
    static func answered(_ count: Int = 1) { current.unanswered -= count }
}
