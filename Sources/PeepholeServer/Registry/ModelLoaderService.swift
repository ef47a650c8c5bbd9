import ServiceLifecycle

/// Loads the registry when the server starts, beside the HTTP server in one `ServiceGroup`,
/// so `/health` answers at once and `/ready` turns 200 when loading is done.
struct ModelLoaderService: Service {
    /// The registry to load.
    let registry: ModelRegistry

    /// Loads, then stays up until shutdown (a service that returns would stop the group).
    func run() async throws {
        try registry.load()
        try? await gracefulShutdown()
    }
}
