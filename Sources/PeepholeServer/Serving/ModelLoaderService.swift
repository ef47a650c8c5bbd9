import Logging
import PeepholeCore
import ServiceLifecycle

/// Loads the registry when the server starts, beside the HTTP server in one `ServiceGroup`, so
/// `/health` answers at once and `/ready` turns 200 when loading is done; then watches the
/// store and reloads when another process (a `peephole import`) has committed to it.
struct ModelLoaderService: Service {
    /// The registry to load.
    let registry: ModelRegistry
    /// The store the registry reads, watched through `PRAGMA data_version`.
    let store: ModelStore
    /// How often to look at the store; nil never (then only `POST /admin/reload` reloads).
    let interval: Duration?
    /// Where reload failures go.
    let logger: Logger

    /// Loads, then watches until shutdown (a service that returns would stop the group).
    func run() async throws {
        var seen = try store.dataVersion()
        try registry.load()
        guard let interval else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                let current = try store.dataVersion()
                guard current != seen else { continue }
                seen = current
                let outcome = try registry.reload()
                if !outcome.loaded.isEmpty || !outcome.damaged.isEmpty {
                    logger.info("Reloaded the store", metadata: [
                        "reload.loaded": "\(outcome.loaded.map { "\($0.model)@\($0.version)" }.joined(separator: ","))",
                        "reload.damaged": "\(outcome.damaged.map { "\($0.model)@\($0.version)" }.joined(separator: ","))",
                    ])
                }
            } catch {
                logger.error("Reloading the store failed; the loaded versions go on serving", metadata: ["error": "\(error)"])
            }
        }
    }
}
