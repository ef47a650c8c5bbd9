import PeepholeCore

/// Reads the states of a recurrent layer from request JSON: `{"h": [batch][units], "c": …}` (an
/// LSTM's `h` and `c`, a GRU's or SimpleRNN's `h`), per direction `{"forward": …, "backward": …}`
/// for a Bidirectional layer.
enum LayerStateReading {
    /// The state `value` gives for `layer` (named in errors as `field`); a missing state (or
    /// direction) comes from `base`, or is zeros.
    static func state(_ value: JSONValue, field: String, layer: NetworkLayer, batch: Int, base: LayerState? = nil) throws -> LayerState {
        guard let units = layer.stateUnits else {
            throw PeepholeError.notApplicable(field: field, message: "layer '\(layer.name)' is a \(layer.className), not a recurrent layer (LSTM, GRU, SimpleRNN or Bidirectional)")
        }
        var state = base ?? layer.zeroState(batch: batch)
        guard let directionNames = layer.directionNames else {
            state.directions[0] = try direction(value, field: field, names: layer.stateNames, units: units[0], batch: batch, base: state.directions[0])
            return state
        }
        let directions = try JSONFields(value, accepted: Set(directionNames), path: field, expected: "an object")
        for (index, name) in directionNames.enumerated() {
            guard let given = directions[name] else { continue }
            state.directions[index] = try direction(given, field: "\(field).\(name)", names: layer.stateNames, units: units[index], batch: batch, base: state.directions[index])
        }
        return state
    }

    /// One direction's states named `names`, each `[batch, units]`.
    private static func direction(_ value: JSONValue, field: String, names: [String], units: Int, batch: Int, base: [Tensor]) throws -> [Tensor] {
        let fields = try JSONFields(value, accepted: Set(names), path: field, expected: "an object")
        return try zip(names, base).map { name, fallback in
            guard let value = fields[name] else { return fallback }
            let tensor = try TensorReading.tensor(value, field: "\(field).\(name)")
            guard tensor.shape == [batch, units] else {
                throw PeepholeError.invalidInput(field: "\(field).\(name)", message: "expected shape [\(batch), \(units)] (batch, units), got \(tensor.shape)")
            }
            return tensor
        }
    }
}
