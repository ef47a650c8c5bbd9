import PeepholeCore

/// Reads the states of a layer with state from request JSON: `{"h": [batch][units], "c": …}`,
/// per direction `{"forward": …, "backward": …}` for a Bidirectional layer.
enum LayerStateReading {
    /// The state `value` gives for `layer` (named in errors as `field`); a missing `h` or `c` (or
    /// direction) comes from `base`, or is zeros.
    static func state(_ value: JSONValue, field: String, layer: NetworkLayer, batch: Int, base: LayerState? = nil) throws -> LayerState {
        guard let units = layer.stateUnits else {
            throw PeepholeError.notApplicable(field: field, message: "layer '\(layer.name)' is a \(layer.className), not an LSTM or Bidirectional LSTM")
        }
        let zeros = layer.zeroState(batch: batch)
        if units.count == 1 {
            guard case let .lstm(current) = base ?? zeros else { preconditionFailure("an LSTM's state") }
            return .lstm(try lstm(value, field: field, units: units[0], batch: batch, base: current))
        }
        guard case let .bidirectional(forward, backward) = base ?? zeros else { preconditionFailure("a Bidirectional LSTM's state") }
        let directions = try JSONFields(value, accepted: ["forward", "backward"], path: field, expected: "an object")
        return .bidirectional(
            forward: try directions["forward"].map { try lstm($0, field: "\(field).forward", units: units[0], batch: batch, base: forward) } ?? forward,
            backward: try directions["backward"].map { try lstm($0, field: "\(field).backward", units: units[1], batch: batch, base: backward) } ?? backward)
    }

    private static func lstm(_ value: JSONValue, field: String, units: Int, batch: Int, base: LSTMState) throws -> LSTMState {
        let fields = try JSONFields(value, accepted: ["h", "c"], path: field, expected: "an object")
        func tensor(_ name: String, _ fallback: Tensor) throws -> Tensor {
            guard let value = fields[name] else { return fallback }
            let tensor = try TensorReading.tensor(value, field: "\(field).\(name)")
            guard tensor.shape == [batch, units] else {
                throw PeepholeError.invalidInput(field: "\(field).\(name)", message: "expected shape [\(batch), \(units)] (batch, units), got \(tensor.shape)")
            }
            return tensor
        }
        var state = base
        state.h = try tensor("h", base.h)
        state.c = try tensor("c", base.c)
        return state
    }
}
