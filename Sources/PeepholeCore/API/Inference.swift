/// The two inference operations, from decoded request to response JSON. The CLI's `predict`
/// and the HTTP routes both call these, so their bodies are the same.
public enum Inference {
    /// `{"model", "version", "outputs"}` (+ `"top_k"`): the whole model's output.
    public static func predict(_ model: LoadedModel, _ request: InferenceRequest) throws -> [UInt8] {
        try checkPredict(model, request)
        return predictResponse(model, request, output: model.network.run(request.input).output)
    }

    /// Checks everything about a prediction that can fail (`top_k`), before anything runs: a
    /// request that passes can share a forward pass with others without failing any of them.
    public static func checkPredict(_ model: LoadedModel, _ request: InferenceRequest) throws {
        if let k = request.topK { try checkTopK(model, k: k) }
    }

    /// The body of `predict` from `output`, the model's output for `request.input` (computed
    /// alone, or as rows of a pass shared with other requests); the request passed `checkPredict`.
    public static func predictResponse(_ model: LoadedModel, _ request: InferenceRequest, output: Tensor) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        json.tensor(output, key: "outputs")
        if let k = request.topK {
            let width = output.lastDimension
            let vocabulary = model.info.vocabulary!
            json.beginArray("top_k")
            for row in 0..<output.rows {
                let probabilities = output.data[(row * width)..<((row + 1) * width)]
                let best = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }.prefix(k)
                json.beginArray()
                for index in best {
                    json.beginObject()
                    json.string(vocabulary[index - row * width], key: "token")
                    json.float(probabilities[index], key: "p")
                    json.endObject()
                }
                json.endArray()
            }
            json.endArray()
        }
        json.endObject()
        return json.bytes
    }

    /// `{"model", "version", "layer", "output"}` (+ `"states"`, and the per-step fields of
    /// `LayerStates.write`): one layer's output.
    public static func layerOutput(_ model: LoadedModel, layer name: String, _ request: InferenceRequest) throws -> [UInt8] {
        let index = try checkLayerOptions(model, layer: name, request)
        var initialStates: [Int: LayerState] = [:]
        if let value = request.initialState {
            initialStates[index] = try LayerStates.parse(value, field: "initial_state", layer: model.network.layers[index], batch: request.input.shape[0])
        }
        let result = model.network.run(
            request.input, through: index, capture: [index], states: request.states ? [index] : [],
            initialStates: initialStates, traces: request.trace.isEmpty ? [:] : [index: request.trace])
        return layerResponse(model, layer: name, index: index, result, request)
    }

    /// The index of layer `name` when `request` asks for its output alone (no `states`,
    /// per-step fields or `initial_state`), so the output may come from a pass shared with other
    /// requests and be answered by `layerOutputResponse`; nil when it asks for more, and it must
    /// go through `layerOutput`. Throws what `layerOutput` throws before it runs anything.
    public static func plainLayerOutput(_ model: LoadedModel, layer name: String, _ request: InferenceRequest) throws -> Int? {
        let index = try checkLayerOptions(model, layer: name, request)
        return request.states || !request.trace.isEmpty || request.initialState != nil ? nil : index
    }

    /// The body of `layerOutput` for a plain request (see `plainLayerOutput`) from `output`,
    /// layer `index`'s output for `request.input`.
    public static func layerOutputResponse(_ model: LoadedModel, layer name: String, index: Int, _ request: InferenceRequest, output: Tensor) -> [UInt8] {
        layerResponse(model, layer: name, index: index, ForwardResult(output: output, layerOutputs: [index: output], states: [:]), request)
    }

    private static func layerResponse(_ model: LoadedModel, layer name: String, index: Int, _ result: ForwardResult, _ request: InferenceRequest) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        writeLayer(name, index: index, result, request, into: &json)
        json.endObject()
        return json.bytes
    }

    /// Finds layer `name` and checks that the request's LSTM options apply to it.
    static func checkLayerOptions(_ model: LoadedModel, layer name: String, _ request: InferenceRequest) throws -> Int {
        guard let index = model.network.layerIndex(named: name) else {
            throw PeepholeError.unknownLayer(model: model.info.model, layer: name)
        }
        let layer = model.network.layers[index]
        if request.states || !request.trace.isEmpty || request.initialState != nil {
            guard let units = LayerStates.directions(layer) else {
                let field = request.states ? "states" : request.initialState != nil ? "initial_state" : "sequences"
                throw PeepholeError.notApplicable(field: field, message: "layer '\(name)' is a \(layer.className), not an LSTM or Bidirectional LSTM")
            }
            if let bad = request.trace.units?.first(where: { $0 >= units.min()! }) {
                throw PeepholeError.invalidInput(field: "units", message: "unit \(bad) is out of range: layer '\(name)' has \(units.min()!) units")
            }
        } else if request.trace.units != nil || request.trace.steps.from != nil || request.trace.steps.to != nil {
            throw PeepholeError.invalidInput(field: request.trace.units != nil ? "units" : "steps", message: "filters per-step fields: ask for sequences, gates or preactivations too")
        }
        return index
    }

    /// Writes `"layer"`, `"output"`, and the `"states"` and per-step fields the request asked for.
    static func writeLayer(_ name: String, index: Int, _ result: ForwardResult, _ request: InferenceRequest, into json: inout JSONWriter) {
        json.string(name, key: "layer")
        json.tensor(result.layerOutputs[index]!, key: "output")
        if request.states, let state = result.states[index] {
            json.beginObject("states")
            LayerStates.write(state, into: &json)
            json.endObject()
        }
        if let trace = result.traces[index] {
            LayerStates.write(trace, batch: request.input.shape[0], into: &json)
        }
    }

    /// Checks that `top_k` applies: a vocabulary, and a `[batch, vocabulary]` output.
    private static func checkTopK(_ model: LoadedModel, k: Int) throws {
        guard let vocabulary = model.info.vocabulary else {
            throw PeepholeError.notApplicable(field: "top_k", message: "model '\(model.info.model)' has no vocabulary")
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
