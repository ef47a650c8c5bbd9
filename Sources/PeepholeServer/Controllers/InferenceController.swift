import Hummingbird
import PeepholeCore

/// `POST …/predict` and `POST …/layers/{layer}/output`, for the default model, a named model's
/// newest version, or a named version. The bodies are those of `peephole predict`: both call
/// `InferenceRequest.decode` and `Inference`. A request is checked in full before it runs, then
/// its forward pass goes through the batcher (within the model's admission bound, so queued
/// requests count as in flight); layer-output requests that ask for states or per-step fields run
/// alone, since those are recorded for the whole batch of a pass.
struct InferenceController {
    /// Where models come from.
    let registry: ModelRegistry
    /// Where inference latency and batch sizes go.
    let metrics: ServerMetrics
    /// The bound on each model's requests in flight.
    let admission: ModelAdmission
    /// Where forward passes are shared between requests.
    let batcher: InferenceBatcher
    /// Body size and request limits.
    let config: ServerConfig

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
    @Sendable func predict(_ request: Request, context: some RequestContext) async throws -> Response {
        let (model, body) = try await prepare(request, context)
        let decoded = try InferenceRequest.decode(body, for: model, endpoint: .predict, limits: config.limits)
        try Inference.checkPredict(model, decoded)
        return .json(try await admission.run(model) {
            try await metrics.measureInference(model, endpoint: "predict", batch: decoded.input.shape[0]) {
                Inference.predictResponse(model, decoded, output: try await batcher.run(model, .predict, input: decoded.input))
            }
        })
    }

    /// One layer's output, with its final LSTM states if `states` is true.
    @Sendable func layerOutput(_ request: Request, context: some RequestContext) async throws -> Response {
        let layer = try context.parameters.require("layer")
        let (model, body) = try await prepare(request, context)
        guard model.network.layerIndex(named: layer) != nil else {
            throw PeepholeError.unknownLayer(model: model.info.model, layer: layer)
        }
        let decoded = try InferenceRequest.decode(body, for: model, endpoint: .layerOutput, limits: config.limits)
        let plain = try Inference.plainLayerOutput(model, layer: layer, decoded)
        return .json(try await admission.run(model) {
            try await metrics.measureInference(model, endpoint: "layer_output", batch: decoded.input.shape[0]) {
                guard let index = plain else { return try Inference.layerOutput(model, layer: layer, decoded) }
                let output = try await batcher.run(model, .layer(index), input: decoded.input)
                return Inference.layerOutputResponse(model, layer: layer, index: index, decoded, output: output)
            }
        })
    }

    /// Checks the media type, resolves the model, then reads the body within its limit.
    private func prepare(_ request: Request, _ context: some RequestContext) async throws -> (LoadedModel, [UInt8]) {
        try JSONBody.checkContentType(request)
        let model = try registry.model(context.parameters.get("model"), version: context.parameters.get("version"))
        return (model, try await JSONBody.read(request, limit: config.maxBodyBytes))
    }
}
