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
/// direction for a Bidirectional layer, then `order`, `steps` and `units`). Written into the
/// object of the response that carries it.
struct LayerReport: Sendable {
    /// The layer's name.
    var name: String
    /// The layer's output, batch first.
    var output: Tensor
    /// The final states, when asked.
    var state: LayerState?
    /// The per-step records, when asked.
    var trace: LayerTrace?
    /// The batch size, which shapes the records.
    var batch: Int

    /// The report of `query`'s layer (named `name`) from `result`.
    init(_ name: String, _ query: LayerQuery, _ result: ForwardResult, batch: Int) {
        self.init(name: name, output: result.layerOutputs[query.layer]!, state: query.states ? result.states[query.layer] : nil,
                  trace: result.traces[query.layer], batch: batch)
    }

    init(name: String, output: Tensor, state: LayerState? = nil, trace: LayerTrace? = nil, batch: Int) {
        self.name = name
        self.output = output
        self.state = state
        self.trace = trace
        self.batch = batch
    }

    func encode(into container: inout KeyedEncodingContainer<JSONKey>) throws {
        try container.encode(name, forKey: JSONKey("layer"))
        try container.encode(TensorJSON(output), forKey: JSONKey("output"))
        if let state { try container.encode(LayerStateJSON(state), forKey: JSONKey("states")) }
        if let trace { try encode(trace, into: &container) }
    }

    private func encode(_ trace: LayerTrace, into container: inout KeyedEncodingContainer<JSONKey>) throws {
        let directions: [(name: String?, trace: LSTMTrace)] = switch trace {
        case let .lstm(trace): [(nil, trace)]
        case let .bidirectional(forward, backward): [("forward", forward), ("backward", backward)]
        }
        let first = directions[0].trace
        func shaped(_ values: [Float], _ trace: LSTMTrace) -> TensorJSON {
            TensorJSON(Tensor(shape: [batch, trace.steps.count, trace.units.count], data: values))
        }
        func perDirection<Value: Encodable>(_ key: String, _ value: (LSTMTrace) -> Value?) throws {
            guard value(first) != nil else { return }
            if directions.count == 1 { return try container.encode(value(first)!, forKey: JSONKey(key)) }
            var nested = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey(key))
            for direction in directions { try nested.encode(value(direction.trace)!, forKey: JSONKey(direction.name!)) }
        }
        try perDirection("sequence") { trace in trace.sequence.map { shaped($0, trace) } }
        try perDirection("gates") { trace in trace.gates.map { OrderedJSONObject($0.mapValues { shaped($0, trace) }, order: ["i", "f", "g", "o", "c"]) } }
        try perDirection("preactivations") { trace in
            trace.preactivations.map { OrderedJSONObject($0.mapValues { shaped($0, trace) }, order: ["i", "f", "g", "o"]) }
        }
        let order = { (trace: LSTMTrace) in trace.processedBackwards ? "processed" : "input" }
        if directions.count == 1 {
            try container.encode(order(first), forKey: JSONKey("order"))
        } else {
            try container.encode(OrderedJSONObject(["forward": order(directions[0].trace), "backward": order(directions[1].trace)], order: ["forward", "backward"]), forKey: JSONKey("order"))
        }
        try container.encode(OrderedJSONObject(["from": first.steps.lowerBound, "to": first.steps.upperBound], order: ["from", "to"]), forKey: JSONKey("steps"))
        try container.encode(first.units, forKey: JSONKey("units"))
    }
}

/// A layer's final states: `{"h", "c"}`, or `{"forward": {…}, "backward": {…}}`.
struct LayerStateJSON: Encodable, Sendable {
    let state: LayerState

    init(_ state: LayerState) { self.state = state }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        switch state {
        case let .lstm(state):
            try Self.encode(state, into: &container)
        case let .bidirectional(forward, backward):
            var nested = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey("forward"))
            try Self.encode(forward, into: &nested)
            nested = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey("backward"))
            try Self.encode(backward, into: &nested)
        }
    }

    private static func encode(_ state: LSTMState, into container: inout KeyedEncodingContainer<JSONKey>) throws {
        try container.encode(TensorJSON(state.h), forKey: JSONKey("h"))
        try container.encode(TensorJSON(state.c), forKey: JSONKey("c"))
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
