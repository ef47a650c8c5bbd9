import Hummingbird
import PeepholeCore
import PeepholeProtocols

/// Stateful sessions (Keras `stateful=True`, served): open one on a model version, feed it
/// chunks, read, set or reset its states, close it.
struct SessionController {
    /// Where models come from.
    let registry: ModelRegistry
    /// The open sessions.
    let sessions: SessionRegistry
    /// The routes' implementation, with the server's runner.
    let api: PeepholeAPI
    /// Reads request bodies.
    let decoder: PeepholeBodyDecoder

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

    /// `201 {"session", "model", "version", "expires_in"}`, with its path in `Location`.
    @Sendable func open(_ request: Request, context: some RequestContext) async throws -> EditedResponse<SessionOpenedResponse> {
        try PeepholeBodyDecoder.checkContentType(request)
        let model = try registry.model(in: context)
        let entry = try sessions.open(model)
        return EditedResponse(status: .created, headers: [.location: "/sessions/\(entry.id)"],
                              response: api.opened(entry.id, model: model, expiresIn: sessions.idleSeconds))
    }

    /// Runs one chunk with the carried states: `{"inputs"}` or `{"text"}`, plus a `layer` and
    /// its introspection options.
    @Sendable func step(_ request: Request, context: some RequestContext) async throws -> SessionStepResponse {
        let entry = try sessions.session(try context.parameters.require("session"))
        return try await api.step(try await decoder.decode(SessionStepRequest.self, from: request), session: entry)
    }

    /// `{"session", "model", "version", "batch", "steps", "states"}`.
    @Sendable func describe(_ request: Request, context: some RequestContext) async throws -> SessionResponse {
        api.describe(try sessions.session(try context.parameters.require("session")))
    }

    /// Sets some or all states from `{"<layer>": {"h", "c"}}`; answers like `describe`.
    @Sendable func setState(_ request: Request, context: some RequestContext) async throws -> SessionResponse {
        let entry = try sessions.session(try context.parameters.require("session"))
        return try api.setStates(try await decoder.decode(SessionStatesRequest.self, from: request), session: entry)
    }

    /// Zeroes every state; answers like `describe`.
    @Sendable func reset(_ request: Request, context: some RequestContext) async throws -> SessionResponse {
        api.reset(try sessions.session(try context.parameters.require("session")))
    }

    /// Closes the session: `{"session", "deleted": true}`.
    @Sendable func close(_ request: Request, context: some RequestContext) async throws -> SessionClosedResponse {
        let id = try context.parameters.require("session")
        try sessions.close(id)
        return SessionClosedResponse(session: id)
    }
}
