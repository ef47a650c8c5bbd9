/// Reading and writing LSTM states and per-step records in request and response JSON.
enum LayerStates {
    /// The unit count of each direction of an LSTM-based layer; nil for other layers.
    static func directions(_ layer: NetworkLayer) -> [Int]? {
        switch layer.kind {
        case let .lstm(options): [options.units]
        case let .bidirectional(forward, backward, _): [forward.units, backward.units]
        default: nil
        }
    }

    /// Parses `{"h": [batch][units], "c": …}` (per direction `{"forward": …, "backward": …}` for
    /// a Bidirectional layer) for `layer`; a missing `h` or `c` (or direction) comes from `base`,
    /// or is zeros.
    static func parse(_ value: JSONValue, field: String, layer: NetworkLayer, batch: Int, base: LayerState? = nil) throws -> LayerState {
        guard let units = directions(layer) else {
            throw PeepholeError.notApplicable(field: field, message: "layer '\(layer.name)' is a \(layer.className), not an LSTM or Bidirectional LSTM")
        }
        guard case let .object(fields) = value else {
            throw PeepholeError.invalidInput(field: field, message: "expected an object, got \(value.typeName)")
        }
        if units.count == 1 {
            var current: LSTMState?
            if case let .lstm(state)? = base { current = state }
            return .lstm(try single(fields, field: field, units: units[0], batch: batch, base: current))
        }
        if let key = fields.keys.first(where: { $0 != "forward" && $0 != "backward" }) {
            throw PeepholeError.invalidInput(field: "\(field).\(key)", message: "unknown field: a Bidirectional layer's state has forward and backward")
        }
        var current: (LSTMState?, LSTMState?) = (nil, nil)
        if case let .bidirectional(forward, backward)? = base { current = (forward, backward) }
        func direction(_ name: String, _ units: Int, _ base: LSTMState?) throws -> LSTMState {
            guard let value = fields[name] else { return base ?? zeros(batch: batch, units: units) }
            guard case let .object(inner) = value else {
                throw PeepholeError.invalidInput(field: "\(field).\(name)", message: "expected an object, got \(value.typeName)")
            }
            return try single(inner, field: "\(field).\(name)", units: units, batch: batch, base: base)
        }
        return .bidirectional(forward: try direction("forward", units[0], current.0), backward: try direction("backward", units[1], current.1))
    }

    private static func single(_ fields: [String: JSONValue], field: String, units: Int, batch: Int, base: LSTMState?) throws -> LSTMState {
        if let key = fields.keys.first(where: { $0 != "h" && $0 != "c" }) {
            throw PeepholeError.invalidInput(field: "\(field).\(key)", message: "unknown field (accepted: h, c)")
        }
        func tensor(_ name: String, _ fallback: Tensor) throws -> Tensor {
            guard let value = fields[name] else { return fallback }
            let tensor = try JSONShape.tensor(value, field: "\(field).\(name)")
            guard tensor.shape == [batch, units] else {
                throw PeepholeError.invalidInput(field: "\(field).\(name)", message: "expected shape [\(batch), \(units)] (batch, units), got \(tensor.shape)")
            }
            return tensor
        }
        let zero = zeros(batch: batch, units: units)
        return LSTMState(h: try tensor("h", base?.h ?? zero.h), c: try tensor("c", base?.c ?? zero.c))
    }

    /// A zero state.
    static func zeros(batch: Int, units: Int) -> LSTMState {
        LSTMState(h: Tensor(zeros: [batch, units]), c: Tensor(zeros: [batch, units]))
    }

    /// Writes a state as `{"h", "c"}`, or `{"forward": {…}, "backward": {…}}`.
    static func write(_ state: LayerState, into json: inout JSONWriter) {
        switch state {
        case let .lstm(state):
            write(state, into: &json)
        case let .bidirectional(forward, backward):
            json.beginObject("forward")
            write(forward, into: &json)
            json.endObject()
            json.beginObject("backward")
            write(backward, into: &json)
            json.endObject()
        }
    }

    private static func write(_ state: LSTMState, into json: inout JSONWriter) {
        json.tensor(state.h, key: "h")
        json.tensor(state.c, key: "c")
    }

    /// Writes the per-step fields of a response: `sequence`, `gates`, `preactivations` (each per
    /// direction for a Bidirectional layer), then `order`, `steps` and `units`.
    static func write(_ trace: LayerTrace, batch: Int, into json: inout JSONWriter) {
        let directions: [(name: String?, trace: LSTMTrace)] = switch trace {
        case let .lstm(trace): [(nil, trace)]
        case let .bidirectional(forward, backward): [("forward", forward), ("backward", backward)]
        }
        let first = directions[0].trace
        func shaped(_ values: [Float], _ trace: LSTMTrace) -> Tensor {
            Tensor(shape: [batch, trace.steps.count, trace.units.count], data: values)
        }
        if first.sequence != nil {
            if directions.count == 1 {
                json.tensor(shaped(first.sequence!, first), key: "sequence")
            } else {
                json.beginObject("sequence")
                for direction in directions { json.tensor(shaped(direction.trace.sequence!, direction.trace), key: direction.name) }
                json.endObject()
            }
        }
        for (key, names) in [("gates", ["i", "f", "g", "o", "c"]), ("preactivations", ["i", "f", "g", "o"])] {
            let present = key == "gates" ? first.gates != nil : first.preactivations != nil
            guard present else { continue }
            json.beginObject(key)
            for direction in directions {
                let values = key == "gates" ? direction.trace.gates! : direction.trace.preactivations!
                if let name = direction.name { json.beginObject(name) }
                for name in names { json.tensor(shaped(values[name]!, direction.trace), key: name) }
                if direction.name != nil { json.endObject() }
            }
            json.endObject()
        }
        if directions.count == 1 {
            json.string(first.processedBackwards ? "processed" : "input", key: "order")
        } else {
            json.beginObject("order")
            for direction in directions { json.string(direction.trace.processedBackwards ? "processed" : "input", key: direction.name) }
            json.endObject()
        }
        json.beginObject("steps")
        json.int(first.steps.lowerBound, key: "from")
        json.int(first.steps.upperBound, key: "to")
        json.endObject()
        json.beginArray("units")
        for unit in first.units { json.int(unit) }
        json.endArray()
    }
}
