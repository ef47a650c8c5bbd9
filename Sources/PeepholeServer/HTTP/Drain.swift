import Atomics
import Logging
import ServiceLifecycle

/// Whether the server is shutting down: set on SIGTERM or SIGINT, before the server stops
/// accepting connections, so `/ready` and `/v2/health/ready` answer 503 at once and a load
/// balancer or Kubernetes Service stops sending new requests while the ones in flight finish.
public final class DrainState: Sendable {
    private let draining = ManagedAtomic(false)

    /// Not draining.
    public init() {}

    /// True once shutdown has begun.
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Marks the server as draining; readiness fails from now on.
    public func begin() { draining.store(true, ordering: .relaxed) }
}

/// The first service to hear of a graceful shutdown (it comes after the application in the
/// `ServiceGroup`, which shuts services down in reverse order): it fails readiness, then keeps
/// the server accepting and answering for `seconds` so health checks see the 503 and route
/// elsewhere, then returns, and the application stops accepting and finishes its requests.
struct DrainService: Service {
    /// What the readiness routes read.
    let state: DrainState
    /// How long to go on serving after readiness fails (`drain_seconds`).
    let seconds: Int
    /// Where the start of the drain is logged.
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.begin()
        logger.info("Draining: readiness fails, requests in flight finish", metadata: ["drain.seconds": "\(seconds)"])
        if seconds > 0 { try? await Task.sleep(for: .seconds(seconds)) }
    }
}
