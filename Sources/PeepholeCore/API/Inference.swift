/// The two inference operations, from decoded request to response JSON. The CLI's `predict`
/// and the HTTP routes both call these, so their bodies are the same.
public enum Inference {
    /// `{"model", "version", "outputs"}` (+ `"top_k"`): the whole model's output.
    public static func predict(_ model: LoadedModel, _ request: InferenceRequest) throws -> [UInt8] {
        if let k = request.topK { try checkTopK(model, k: k) }
        let result = model.network.run(request.input)
        var json = JSONWriter()
        json.beginObject()
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        json.tensor(result.output, key: "outputs")
        if let k = request.topK {
            let width = result.output.lastDimension
            let vocabulary = model.info.vocabulary!
            json.beginArray("top_k")
            for row in 0..<result.output.rows {
                let probabilities = result.output.data[(row * width)..<((row + 1) * width)]
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

    /// `{"model", "version", "layer", "output"}` (+ `"states"`): one layer's output.
    public static func layerOutput(_ model: LoadedModel, layer name: String, _ request: InferenceRequest) throws -> [UInt8] {
        guard let index = model.network.layerIndex(named: name) else {
            throw PeepholeError.unknownLayer(model: model.info.model, layer: name)
        }
        let layer = model.network.layers[index]
        if request.states {
            switch layer.kind {
            case .lstm, .bidirectional: break
            default:
                throw PeepholeError.notApplicable(field: "states", message: "layer '\(name)' is a \(layer.className), not an LSTM or Bidirectional LSTM")
            }
        }
        let result = model.network.run(request.input, through: index, capture: [index], states: request.states ? [index] : [])
        var json = JSONWriter()
        json.beginObject()
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        json.string(name, key: "layer")
        json.tensor(result.layerOutputs[index]!, key: "output")
        switch result.states[index] {
        case let .lstm(state)?:
            json.beginObject("states")
            write(state, into: &json)
            json.endObject()
        case let .bidirectional(forward, backward)?:
            json.beginObject("states")
            json.beginObject("forward")
            write(forward, into: &json)
            json.endObject()
            json.beginObject("backward")
            write(backward, into: &json)
            json.endObject()
            json.endObject()
        case nil:
            break
        }
        json.endObject()
        return json.bytes
    }

    private static func write(_ state: LSTMState, into json: inout JSONWriter) {
        json.tensor(state.h, key: "h")
        json.tensor(state.c, key: "c")
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
