import NIOConcurrencyHelpers
import PeepholeCore

/// Bounds the inference requests one model has in flight (running or waiting for a thread):
/// past `limit`, a request is refused with 503 and `Retry-After` instead of queueing without
/// bound, so memory stays bounded under any load.
package final class ModelAdmission: Sendable {
    /// The most requests one model may have in flight.
    let limit: Int
    private let inFlight = NIOLockedValueBox<[String: Int]>([:])

    package init(limit: Int) { self.limit = limit }

    /// Runs `body` as one of `model`'s requests in flight, or throws `queueFull`.
    package func run<T>(_ model: LoadedModel, _ body: () async throws -> T) async throws -> T {
        let name = model.info.model
        let admitted = inFlight.withLockedValue { inFlight in
            guard inFlight[name, default: 0] < limit else { return false }
            inFlight[name, default: 0] += 1
            return true
        }
        guard admitted else { throw ServerError.queueFull(model: name, limit: limit) }
        defer { inFlight.withLockedValue { $0[name, default: 1] -= 1 } }
        return try await body()
    }

    /// The requests `model` has in flight now.
    func count(_ model: String) -> Int { inFlight.withLockedValue { $0[model, default: 0] } }
}
