import Hummingbird
import PeepholeCore
import PeepholeProtocols

/// `POST …/generate`: text from a character model, one step per character with its state
/// carried over, reproducible for a given seed.
struct GenerateController {
    /// Where models come from.
    let registry: ModelRegistry
    /// The routes' implementation, with the server's runner.
    let api: PeepholeAPI
    /// Reads request bodies.
    let decoder: PeepholeBodyDecoder

    /// Registers the route under every prefix (default model, named model, named version).
    func addRoutes(to router: Router<some RequestContext>) {
        for prefix in InferenceController.prefixes {
            router.post(RouterPath("\(prefix)/generate"), use: generate)
        }
    }

    /// `{"prompt", "length", "temperature", "seed", "top_k"}` → `{"model", "version", "prompt", "text", "seed"}`.
    @Sendable func generate(_ request: Request, context: some RequestContext) async throws -> GenerateResponse {
        let body = try await decoder.decode(GenerateRequest.self, from: request)
        return try await api.generate(body, model: try registry.model(in: context))
    }
}
