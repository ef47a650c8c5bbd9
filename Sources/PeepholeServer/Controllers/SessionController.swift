import Hummingbird
import PeepholeCore

/// Stateful sessions (Keras `stateful=True`, served): open one on a model version, feed it
/// chunks, read, set or reset its states, close it.
struct SessionController {
    /// Where models come from.
    let registry: ModelRegistry
    /// The open sessions.
    let sessions: SessionRegistry
    /// Where inference latency and batch sizes go.
    let metrics: ServerMetrics
    /// The bound on each model's requests in flight.
    let admission: ModelAdmission
    /// Body size and request limits.
    let config: ServerConfig

    /// Registers the routes.
    func addRoutes(to router: Router<some RequestContext>) {
        for prefix in InferenceController.prefixes {
            router.post(RouterPath("\(prefix)/sessions"), use: open)
        }
        router.get("/sessions/:session", use: describe)
        router.delete("/sessions/:session", use: close)
        router.post("/sessions/:session/step", use: step)
        router.put("/sessions/:session/state", use: setState)
        router.post("/sessions/:session/reset", use: reset)
    }

    /// `201 {"session", "model", "version", "expires_in"}`.
    @Sendable func open(_ request: Request, context: some RequestContext) async throws -> Response {
        try JSONBody.checkContentType(request)
        let model = try registry.model(context.parameters.get("model"), version: context.parameters.get("version"))
        let entry = try sessions.open(model)
        let id = entry.withState { $0.id }
        var json = JSONWriter()
        json.beginObject()
        json.string(id, key: "session")
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        json.int(sessions.idleSeconds, key: "expires_in")
        json.endObject()
        var headers = HTTPFields()
        headers[.location] = "/sessions/\(id)"
        return .json(json.bytes, status: .created, headers: headers)
    }

    /// Runs one chunk with the carried states: `{"inputs"}` or `{"text"}`, plus a `layer` and
    /// its introspection options.
    @Sendable func step(_ request: Request, context: some RequestContext) async throws -> Response {
        try JSONBody.checkContentType(request)
        let entry = try sessions.session(try context.parameters.require("session"))
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes)
        let decoded = try InferenceRequest.decode(body, for: entry.model, endpoint: .sessionStep, limits: config.limits)
        return .json(try await admission.run(entry.model) {
            try await metrics.measureInference(entry.model, endpoint: "session_step", batch: decoded.input.shape[0]) {
                try entry.withState { try $0.step(entry.model, decoded) }
            }
        })
    }

    /// `{"session", "model", "version", "batch", "steps", "states"}`.
    @Sendable func describe(_ request: Request, context: some RequestContext) async throws -> Response {
        let entry = try sessions.session(try context.parameters.require("session"))
        return .json(entry.withState { $0.describe(entry.model) })
    }

    /// Sets some or all states from `{"<lstm layer>": {"h", "c"}}`; answers like `describe`.
    @Sendable func setState(_ request: Request, context: some RequestContext) async throws -> Response {
        try JSONBody.checkContentType(request)
        let entry = try sessions.session(try context.parameters.require("session"))
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes)
        return .json(try entry.withState { state in
            try state.update(entry.model, body: body, limits: config.limits)
            return state.describe(entry.model)
        })
    }

    /// Zeroes every state; answers like `describe`.
    @Sendable func reset(_ request: Request, context: some RequestContext) async throws -> Response {
        let entry = try sessions.session(try context.parameters.require("session"))
        return .json(entry.withState { state in
            state.reset()
            return state.describe(entry.model)
        })
    }

    /// Closes the session: `{"session", "deleted": true}`.
    @Sendable func close(_ request: Request, context: some RequestContext) async throws -> Response {
        let id = try context.parameters.require("session")
        try sessions.close(id)
        var json = JSONWriter()
        json.beginObject()
        json.string(id, key: "session")
        json.bool(true, key: "deleted")
        json.endObject()
        return .json(json.bytes)
    }
}
