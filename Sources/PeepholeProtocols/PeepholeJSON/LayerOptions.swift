import PeepholeCore

/// The fields that ask a layer for more than its output: `states`, and the per-step records
/// `sequences`, `gates`, `preactivations` filtered by `units` and `steps`.
struct LayerOptions: Sendable {
    /// Whether the final states are asked for.
    var states = false
    /// What to record step by step.
    var trace = TraceOptions()

    /// The fields every body that can ask for a layer accepts.
    static let fields: Set<String> = ["states", "sequences", "gates", "preactivations", "units", "steps"]

    init(_ fields: JSONFields) throws {
        states = try fields.flag("states")
        trace.sequence = try fields.flag("sequences")
        trace.gates = try fields.flag("gates")
        trace.preactivations = try fields.flag("preactivations")
        trace.units = try fields.unitIndices("units")
        if let units = trace.units, Set(units).count != units.count {
            throw PeepholeError.invalidInput(field: "units", message: "lists a unit twice")
        }
        if let steps = fields["steps"] {
            let range = try JSONFields(steps, accepted: ["from", "to"], path: "steps", expected: #"{"from": first, "to": end}"#)
            trace.steps = (try range.integer("from"), try range.integer("to"))
        }
    }

    /// The query of layer `index` of `model` (named `name`) that these options make, checked:
    /// the options apply to the layer, and `initialState` (`initial_state`) is a state of it
    /// for `batch` rows.
    func query(layer index: Int, named name: String, in model: LoadedModel, initialState: JSONValue? = nil, batch: Int) throws -> LayerQuery {
        let layer = model.network.layers[index]
        if states || !trace.isEmpty || initialState != nil {
            guard let units = layer.stateUnits else {
                let field = states ? "states" : initialState != nil ? "initial_state" : "sequences"
                throw PeepholeError.notApplicable(field: field, message: "layer '\(name)' is a \(layer.className), not a recurrent layer (LSTM, GRU, SimpleRNN or Bidirectional)")
            }
            if trace.gates || trace.preactivations, layer.kind.recurrentDirections?[0].gateNames.isEmpty == true {
                throw PeepholeError.notApplicable(field: trace.gates ? "gates" : "preactivations", message: "layer '\(name)' is a SimpleRNN, which has no gates; ask for sequences or states")
            }
            if let bad = trace.units?.first(where: { $0 >= units.min()! }) {
                throw PeepholeError.invalidInput(field: "units", message: "unit \(bad) is out of range: layer '\(name)' has \(units.min()!) units")
            }
        } else if trace.units != nil || trace.steps.from != nil || trace.steps.to != nil {
            throw PeepholeError.invalidInput(field: trace.units != nil ? "units" : "steps", message: "filters per-step fields: ask for sequences, gates or preactivations too")
        }
        var query = LayerQuery(layer: index)
        query.states = states
        query.trace = trace
        query.initialState = try initialState.map { try LayerStateReading.state($0, field: "initial_state", layer: layer, batch: batch) }
        return query
    }
}

extension LoadedModel {
    /// The index of the layer called `name`, or `unknownLayer`.
    func layerIndex(_ name: String) throws -> Int {
        guard let index = network.layerIndex(named: name) else {
            throw PeepholeError.unknownLayer(model: info.model, layer: name)
        }
        return index
    }
}
