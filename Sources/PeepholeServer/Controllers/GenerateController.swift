import Hummingbird
import PeepholeCore

/// `POST …/generate`: text from a character model, one step per character with its state
/// carried over, reproducible for a given seed.
struct GenerateController {
    /// Where models come from.
    let registry: ModelRegistry
    /// Where inference latency goes.
    let metrics: ServerMetrics
    /// The bound on each model's requests in flight.
    let admission: ModelAdmission
    /// Body size and request limits.
    let config: ServerConfig

    /// Registers the route under every prefix (default model, named model, named version).
    func addRoutes(to router: Router<some RequestContext>) {
        for prefix in InferenceController.prefixes {
            router.post(RouterPath("\(prefix)/generate"), use: generate)
        }
    }

    /// `{"prompt", "length", "temperature", "seed", "top_k"}` → `{"model", "version", "prompt", "text", "seed"}`.
    @Sendable func generate(_ request: Request, context: some RequestContext) async throws -> Response {
        try JSONBody.checkContentType(request)
        let model = try registry.model(context.parameters.get("model"), version: context.parameters.get("version"))
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes)
        let decoded = try Generation.Request.decode(body, limits: config.limits)
        let text = try await admission.run(model) {
            try await metrics.measureInference(model, endpoint: "generate", batch: 1) { try Generation.generate(model, decoded) }
        }
        var json = JSONWriter()
        json.beginObject()
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        json.string(decoded.prompt, key: "prompt")
        json.string(text, key: "text")
        json.int(Int(decoded.seed), key: "seed")
        json.endObject()
        return .json(json.bytes)
    }
}
