import PeepholeCore

/// A key named at run time: a layer name, a gate, a direction.
struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// What a response says about one layer: `"layer"`, `"output"`, its final `"states"` when asked,
/// and its per-step records when asked (`sequence`, `gates`, `preactivations`, each per
/// direction for a Bidirectional layer, then `order`, `steps`, `units`, and for a GRU `variant`).
/// Written into the object of the response that carries it.
struct LayerReport: Sendable {
    /// The layer's name.
    var name: String
    /// The layer's output, batch first.
    var output: Tensor
    /// The final states, when asked, with the names of the layer's states and directions.
    var state: LayerStateJSON?
    /// The per-step records when asked, one per direction.
    var trace: [RecurrentTrace]?
    /// The names of the layer's directions (nil for one).
    var directionNames: [String]?
    /// The GRU variant (`reset_after` or `reset_before`) the gates were computed with.
    var variant: String?
    /// The batch size, which shapes the records.
    var batch: Int

    /// The report of `query`'s layer (`layer`, named `name`) from `result`.
    init(_ name: String, _ query: LayerQuery, _ result: ForwardResult, layer: NetworkLayer, batch: Int) {
        self.init(name: name, output: result.layerOutputs[query.layer]!, batch: batch)
        if query.states, let state = result.states[query.layer] { self.state = LayerStateJSON(state, of: layer) }
        trace = result.traces[query.layer]
        directionNames = layer.directionNames
        if trace != nil, case let .gru(options)? = layer.kind.recurrentDirections?[0] { variant = options.resetAfter ? "reset_after" : "reset_before" }
    }

    init(name: String, output: Tensor, batch: Int) {
        self.name = name
        self.output = output
        self.batch = batch
    }

    func encode(into container: inout KeyedEncodingContainer<JSONKey>) throws {
        try container.encode(name, forKey: JSONKey("layer"))
        try container.encode(TensorJSON(output), forKey: JSONKey("output"))
        if let state { try container.encode(state, forKey: JSONKey("states")) }
        if let trace { try encode(trace, into: &container) }
    }

    private func encode(_ directions: [RecurrentTrace], into container: inout KeyedEncodingContainer<JSONKey>) throws {
        let first = directions[0]
        func shaped(_ values: [Float], _ trace: RecurrentTrace) -> TensorJSON {
            TensorJSON(Tensor(shape: [batch, trace.steps.count, trace.units.count], data: values))
        }
        func perDirection<Value: Encodable>(_ key: String, _ value: (RecurrentTrace) -> Value?) throws {
            guard value(first) != nil else { return }
            guard let directionNames else { return try container.encode(value(first)!, forKey: JSONKey(key)) }
            var nested = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey(key))
            for (name, trace) in zip(directionNames, directions) { try nested.encode(value(trace)!, forKey: JSONKey(name)) }
        }
        try perDirection("sequence") { trace in trace.sequence.map { shaped($0, trace) } }
        try perDirection("gates") { trace in trace.gates.map { OrderedJSONObject($0.mapValues { shaped($0, trace) }, order: trace.gateNames) } }
        try perDirection("preactivations") { trace in
            trace.preactivations.map { OrderedJSONObject($0.mapValues { shaped($0, trace) }, order: trace.preactivationNames) }
        }
        try perDirection("order") { trace in trace.processedBackwards ? "processed" : "input" }
        try container.encode(OrderedJSONObject(["from": first.steps.lowerBound, "to": first.steps.upperBound], order: ["from", "to"]), forKey: JSONKey("steps"))
        try container.encode(first.units, forKey: JSONKey("units"))
        if let variant { try container.encode(variant, forKey: JSONKey("variant")) }
    }
}

/// A layer's final states: `{"h", "c"}` (an LSTM), `{"h"}` (a GRU or SimpleRNN), or per
/// direction `{"forward": {…}, "backward": {…}}`.
struct LayerStateJSON: Encodable, Sendable {
    let state: LayerState
    let names: [String]
    let directionNames: [String]?

    init(_ state: LayerState, of layer: NetworkLayer) {
        self.state = state
        names = layer.stateNames
        directionNames = layer.directionNames
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        guard let directionNames else { return try encode(state.directions[0], into: &container) }
        for (name, direction) in zip(directionNames, state.directions) {
            var nested = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey(name))
            try encode(direction, into: &nested)
        }
    }

    private func encode(_ direction: [Tensor], into container: inout KeyedEncodingContainer<JSONKey>) throws {
        for (name, tensor) in zip(names, direction) { try container.encode(TensorJSON(tensor), forKey: JSONKey(name)) }
    }
}

/// An object whose fields are written in a given order.
struct OrderedJSONObject<Value: Encodable>: Encodable {
    let values: [String: Value]
    let order: [String]

    init(_ values: [String: Value], order: [String]) {
        self.values = values
        self.order = order
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        for key in order { try container.encode(values[key]!, forKey: JSONKey(key)) }
    }
}
