import Hummingbird
import PeepholeCore
import PeepholeProtocols

/// `POST …/predict` and `POST …/layers/{layer}/output`, for the default model, a named model's
/// newest version, or a named version. Each request flows through one `PeepholeAPI` function,
/// as `peephole predict`'s does, so their bodies are the same.
struct InferenceController {
    /// Where models come from.
    let registry: ModelRegistry
    /// The routes' implementation, with the server's runner.
    let api: PeepholeAPI
    /// Reads request bodies.
    let decoder: PeepholeBodyDecoder

    /// The path prefixes the routes live under: default model, named model, named version.
    static let prefixes: [RouterPath] = ["", "/models/:model", "/models/:model/versions/:version"]

    /// Registers the routes under every prefix.
    func addRoutes(to router: Router<some RequestContext>) {
        for prefix in Self.prefixes {
            router.post(RouterPath("\(prefix)/predict"), use: predict)
            router.post(RouterPath("\(prefix)/layers/:layer/output"), use: layerOutput)
        }
    }

    /// The whole model's output, with `top_k` if asked.
    @Sendable func predict(_ request: Request, context: some RequestContext) async throws -> PredictResponse {
        let body = try await decoder.decode(PredictRequest.self, from: request)
        return try await api.predict(body, model: try registry.model(in: context))
    }

    /// One layer's output, with its final states and per-step records if asked.
    @Sendable func layerOutput(_ request: Request, context: some RequestContext) async throws -> LayerOutputResponse {
        let layer = try context.parameters.require("layer")
        let body = try await decoder.decode(LayerOutputRequest.self, from: request)
        return try await api.layerOutput(body, layer: layer, model: try registry.model(in: context))
    }
}

extension ModelRegistry {
    /// The model version a route's path names (`:model`, `:version`), or the default model's newest.
    func model(in context: some RequestContext) throws -> LoadedModel {
        try model(context.parameters.get("model"), version: context.parameters.get("version"))
    }
}
