import Hummingbird

/// `GET /v2/health/live` and `/v2/health/ready`: the KServe Open Inference Protocol (V2)
/// health routes that Kubernetes probes and `tritonclient` ask. The status code is the answer
/// (Triton's semantics): 200 when true; ready is 503 while models load and once shutdown began.
struct V2HealthController {
    /// Whose loading readiness waits for.
    let registry: ModelRegistry
    /// Set on SIGTERM: readiness fails from then on.
    let drain: DrainState

    /// Registers the routes.
    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v2/health/live", use: live)
        router.get("/v2/health/ready", use: ready)
    }

    /// 200 while the process is up.
    @Sendable func live(_ request: Request, context: some RequestContext) async throws -> Response {
        .json(Array(#"{"live":true}"#.utf8))
    }

    /// 200 once every model is loaded and until shutdown begins, 503 otherwise.
    @Sendable func ready(_ request: Request, context: some RequestContext) async throws -> Response {
        guard !drain.isDraining, (try? registry.snapshot()) != nil else {
            return .json(Array(#"{"ready":false}"#.utf8), status: .serviceUnavailable)
        }
        return .json(Array(#"{"ready":true}"#.utf8))
    }
}
