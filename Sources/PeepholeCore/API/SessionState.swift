/// The state a stateful session carries between chunks: every LSTM layer's `h` and `c`
/// (Keras `stateful=True`, served). A value type: the server keeps one per session id.
public struct SessionState: Sendable {
    /// The session's id, written into every response about it.
    public let id: String
    /// The batch size, fixed by the first step (or the first state set).
    public private(set) var batch: Int?
    /// The state of each LSTM-based layer, by layer index; empty until the first step (zeros).
    public private(set) var states: [Int: LayerState] = [:]
    /// How many steps (chunks) have run.
    public private(set) var steps = 0

    /// A fresh session: zero state, batch not yet fixed.
    public init(id: String) {
        self.id = id
    }

    /// Runs one chunk through the whole model from the carried states and carries the new ones.
    /// Returns `{"session", "model", "version", "step", "outputs"}` (+ the layer fields for
    /// `request.layer`).
    public mutating func step(_ model: LoadedModel, _ request: InferenceRequest) throws -> [UInt8] {
        let rows = request.input.shape[0]
        if let batch, batch != rows {
            throw PeepholeError.invalidInput(field: "inputs", message: "this session's batch size is \(batch) (fixed by its first step), got \(rows)")
        }
        let layerIndex = try request.layer.map { try Inference.checkLayerOptions(model, layer: $0, request) }
        let network = model.network
        let result = network.run(
            request.input, capture: layerIndex.map { [$0] } ?? [], states: Set(network.recurrentLayerIndices),
            initialStates: states, traces: layerIndex.flatMap { request.trace.isEmpty ? nil : [$0: request.trace] } ?? [:])
        batch = rows
        states = result.states
        steps += 1
        var json = JSONWriter()
        json.beginObject()
        json.string(id, key: "session")
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        json.int(steps, key: "step")
        json.tensor(result.output, key: "outputs")
        if let name = request.layer, let layerIndex {
            Inference.writeLayer(name, index: layerIndex, result, request, into: &json)
        }
        json.endObject()
        return json.bytes
    }

    /// Zeroes every state (the batch size stays).
    public mutating func reset() {
        states = [:]
    }

    /// Sets states from `{"<layer>": {"h": …, "c": …}, …}` (per direction for a Bidirectional
    /// layer); anything not given keeps its value. Before the first step the batch size is taken
    /// from the first array given.
    public mutating func update(_ model: LoadedModel, body: some Collection<UInt8>, limits: RequestLimits = RequestLimits()) throws {
        guard case let .object(fields) = try JSONValue.parse(body, maxDepth: 8) else {
            throw PeepholeError.invalidInput(field: "body", message: "expected {\"<lstm layer>\": {\"h\": [...], \"c\": [...]}}")
        }
        let rows = try batch ?? Self.firstBatch(in: .object(fields))
        guard rows <= limits.maxBatch else {
            throw PeepholeError.invalidInput(field: "body", message: "a batch of \(rows) exceeds the limit of \(limits.maxBatch)")
        }
        var updated = states
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            guard let index = model.network.layerIndex(named: name) else {
                throw PeepholeError.unknownLayer(model: model.info.model, layer: name)
            }
            updated[index] = try LayerStates.parse(value, field: name, layer: model.network.layers[index], batch: rows, base: states[index])
        }
        batch = rows
        states = updated
    }

    /// `{"session", "model", "version", "batch", "steps", "states"}`: what `GET /sessions/{id}` returns.
    public func describe(_ model: LoadedModel) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.string(id, key: "session")
        json.string(model.info.model, key: "model")
        json.int(model.info.version, key: "version")
        if let batch { json.int(batch, key: "batch") } else { json.raw(Array("null".utf8), key: "batch") }
        json.int(steps, key: "steps")
        write(model, into: &json)
        json.endObject()
        return json.bytes
    }

    /// Writes `"states": {"<layer>": {"h", "c"}}` for every LSTM-based layer (zeros before the first step).
    public func write(_ model: LoadedModel, into json: inout JSONWriter) {
        json.beginObject("states")
        for index in model.network.recurrentLayerIndices {
            let layer = model.network.layers[index]
            json.beginObject(layer.name)
            let zeros = LayerStates.directions(layer)!.map { LayerStates.zeros(batch: batch ?? 0, units: $0) }
            let state = states[index] ?? (zeros.count == 1 ? .lstm(zeros[0]) : .bidirectional(forward: zeros[0], backward: zeros[1]))
            LayerStates.write(state, into: &json)
            json.endObject()
        }
        json.endObject()
    }

    private static func firstBatch(in value: JSONValue) throws -> Int {
        switch value {
        case .array, .numbers: return value.elements!.count
        case let .object(fields):
            for key in fields.keys.sorted() {
                if let rows = try? firstBatch(in: fields[key]!), rows > 0 { return rows }
            }
        default: break
        }
        throw PeepholeError.invalidInput(field: "body", message: "no state array to take the batch size from")
    }
}
