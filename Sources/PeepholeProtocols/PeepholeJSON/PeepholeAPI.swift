import PeepholeCore

/// The Peephole JSON API's routes, one function each, shared by the server and the CLI: a
/// decoded body is checked against the model, run, and answered as a response body.
public struct PeepholeAPI: Sendable {
    /// The bounds on what one request may ask for.
    public let limits: RequestLimits
    /// Where forward passes run.
    public let runner: any InferenceRunner

    /// An API under `limits`, running passes on `runner`.
    public init(limits: RequestLimits, runner: any InferenceRunner) {
        self.limits = limits
        self.runner = runner
    }

    /// `POST …/predict`: the model's output (by output name for a model with several), and the
    /// `top_k` tokens of each row if asked. The pass may be shared with other requests, unless it
    /// has interventions.
    public func predict(_ request: PredictRequest, model: LoadedModel) async throws -> PredictResponse {
        let inputs = try request.input.tensors(for: model, limits: limits)
        if let k = request.topK { try Self.checkTopK(model, k: k) }
        let network = model.network
        let clamps = try request.interventions.clamps(for: model)
        let outputs = clamps.isEmpty
            ? try await runner.outputs(model, .model, inputs: inputs, endpoint: "predict")
            : try await runner.alone(model, endpoint: "predict", batch: inputs[0].shape[0]) { network.run(inputs, clamps: clamps).outputs }
        guard outputs.count == 1 else {
            return PredictResponse(model: model.info.model, version: model.info.version,
                                   outputs: OutputsJSON(outputs, of: network), topK: nil)
        }
        let output = outputs[0]
        let topK = request.topK.map { k in model.topTokens(output, k: k).map { $0.map { TokenProbability(token: $0.token, p: $0.p) } } }
        return PredictResponse(model: model.info.model, version: model.info.version, outputs: .single(output), topK: topK)
    }

    /// `POST …/layers/{layer}/output`: one layer's output, and its states and steps if asked. A
    /// request for the output alone may share its pass with others; the rest run alone, since
    /// states and steps are recorded for a pass's whole batch.
    public func layerOutput(_ request: LayerOutputRequest, layer name: String, model: LoadedModel) async throws -> LayerOutputResponse {
        let index = try model.layerIndex(name)
        let inputs = try request.input.tensors(for: model, limits: limits)
        let batch = inputs[0].shape[0]
        var asked = try request.options.query(layer: index, named: name, in: model, initialState: request.initialState, batch: batch)
        asked.clamps = try request.interventions.clamps(for: model)
        let query = asked
        let report: LayerReport
        if query.isPlain {
            let output = try await runner.outputs(model, .layer(index), inputs: inputs, endpoint: "layer_output")[0]
            report = LayerReport(name: name, output: output, batch: batch)
        } else {
            let result = try await runner.alone(model, endpoint: "layer_output", batch: batch) { query.run(on: model.network, inputs) }
            report = LayerReport(name, query, result, layer: model.network.layers[index], batch: batch)
        }
        return LayerOutputResponse(model: model.info.model, version: model.info.version, layer: report)
    }

    /// `POST …/generate`: text continuing the prompt, one character at a time.
    public func generate(_ request: GenerateRequest, model: LoadedModel) async throws -> GenerateResponse {
        var asked = request.options
        asked.clamps = try request.interventions.clamps(for: model)
        let options = asked
        let text = try await runner.alone(model, endpoint: "generate", batch: 1) { try Generation.generate(model, options) }
        return GenerateResponse(model: model.info.model, version: model.info.version, prompt: options.prompt, text: text, seed: Int(options.seed))
    }

    /// Checks that `top_k` applies: a vocabulary, and a `[batch, vocabulary]` output.
    private static func checkTopK(_ model: LoadedModel, k: Int) throws {
        guard let vocabulary = model.info.vocabulary else {
            throw PeepholeError.notApplicable(field: "top_k", message: "model '\(model.info.model)' has no vocabulary")
        }
        guard model.network.outputs.count == 1 else {
            throw PeepholeError.notApplicable(field: "top_k", message: "model '\(model.info.model)' has \(model.network.outputs.count) outputs; top_k needs one output over the vocabulary")
        }
        let shape = model.info.outputShape
        guard shape.count == 2, shape[1] == vocabulary.count else {
            throw PeepholeError.notApplicable(field: "top_k", message: "needs an output of shape (None, \(vocabulary.count)) over the vocabulary, the model outputs \(Network.describe(shape))")
        }
        guard k <= vocabulary.count else {
            throw PeepholeError.invalidInput(field: "top_k", message: "\(k) exceeds the vocabulary size \(vocabulary.count)")
        }
    }
}
