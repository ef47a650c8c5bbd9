import PeepholeCore

/// What a named output of a serving protocol selects in the model: a layer's output, a
/// recurrent layer's final states, or one of its per-step fields. Names: `<layer>`,
/// `<layer>/h` (and an LSTM's `<layer>/c`), `<layer>/sequence`, `<layer>/gates/<gate>` and
/// `<layer>/preactivations/<gate>` (LSTM `i f g o` and gate `c`, GRU `z r hh`); a Bidirectional
/// layer's states and fields are per direction: `<layer>/forward/h`, `<layer>/backward/gates/f`.
struct OutputSelection: Sendable {
    /// What of the layer.
    enum Field: Sendable, Equatable {
        /// The layer's output at this index (a recurrent layer with `return_state`: output, then its states).
        case output(tensor: Int)
        /// The state at this index of the layer's `stateNames`.
        case state(direction: Int?, index: Int)
        case sequence(direction: Int?)
        case gate(direction: Int?, String)
        case preactivation(direction: Int?, String)

        var isPerStep: Bool {
            switch self {
            case .output, .state: false
            default: true
            }
        }
    }

    /// The name as asked.
    var name: String
    /// The layer's index.
    var layer: Int
    /// What of it.
    var field: Field
    /// The units and steps a per-step field is cut to.
    var units: [Int]?
    var steps: (from: Int?, to: Int?) = (nil, nil)

    /// The output `requested` of `model`; unknown names throw `unknownOutput` (404), parameters
    /// that do not apply `invalidInput`.
    init(_ requested: V2RequestedOutput, model: LoadedModel) throws {
        self.name = requested.name
        let network = model.network
        if let output = network.outputs.first(where: { $0.name == requested.name }), case let .layer(index, tensor) = output.source {
            (layer, field) = (index, .output(tensor: tensor))
        } else if let index = network.layerIndex(named: requested.name) {
            (layer, field) = (index, .output(tensor: 0))
        } else {
            (layer, field) = try Self.parse(requested.name, model: model)
        }
        units = requested.units
        steps = (requested.stepsFrom, requested.stepsTo)
        let hasFilters = units != nil || steps.from != nil || steps.to != nil
        if hasFilters && !field.isPerStep {
            throw PeepholeError.invalidInput(field: "output '\(name)'.parameters", message: "units, steps_from and steps_to filter per-step outputs (sequence, gates, preactivations)")
        }
        if let units, let width = network.layers[layer].stateUnits?.min(), let bad = units.first(where: { $0 >= width }) {
            throw PeepholeError.invalidInput(field: "output '\(name)'.parameters.units", message: "unit \(bad) is out of range: layer '\(network.layers[layer].name)' has \(width) units")
        }
    }

    private static func parse(_ name: String, model: LoadedModel) throws -> (Int, Field) {
        let network = model.network
        // The longest layer name the output name starts with, then "/".
        let candidates = network.layers.indices.filter { name.hasPrefix(network.layers[$0].name + "/") }
        guard let index = candidates.max(by: { network.layers[$0].name.count < network.layers[$1].name.count }) else {
            throw ProtocolError.unknownOutput(model: model.info.model, output: name, hint: "outputs are the model's layers (\(network.layers.map(\.name).joined(separator: ", "))) and their states and steps, like '<lstm layer>/h'")
        }
        let layer = network.layers[index]
        var parts = name.dropFirst(layer.name.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let directionNames = layer.directionNames ?? (layer.stateUnits != nil ? [] : nil) else {
            throw ProtocolError.unknownOutput(model: model.info.model, output: name, hint: "layer '\(layer.name)' is a \(layer.className): only recurrent layers (LSTM, GRU, SimpleRNN, Bidirectional) have states and steps")
        }
        let states = layer.stateNames, gates = layer.kind.recurrentDirections![0].gateNames
        let preactivations = gates.filter { $0 != "c" }
        let prefix = layer.name + (directionNames.first.map { "/\($0)" } ?? "")
        let examples = states.map { "'\(prefix)/\($0)'" } + ["'\(prefix)/sequence'"]
            + (gates.isEmpty ? [] : ["'\(prefix)/gates/\(gates.joined(separator: "|"))'", "'\(prefix)/preactivations/\(preactivations.joined(separator: "|"))'"])
        let unknown = ProtocolError.unknownOutput(model: model.info.model, output: name, hint: "layer '\(layer.name)' has outputs like \(examples.joined(separator: ", "))")
        var direction: Int?
        if !directionNames.isEmpty {
            guard let first = parts.first, let side = directionNames.firstIndex(of: first) else { throw unknown }
            direction = side
            parts.removeFirst()
        }
        switch parts.count {
        case 1 where states.contains(parts[0]): return (index, .state(direction: direction, index: states.firstIndex(of: parts[0])!))
        case 1 where parts[0] == "sequence": return (index, .sequence(direction: direction))
        case 2 where parts[0] == "gates" && gates.contains(parts[1]): return (index, .gate(direction: direction, parts[1]))
        case 2 where parts[0] == "preactivations" && preactivations.contains(parts[1]): return (index, .preactivation(direction: direction, parts[1]))
        default: throw unknown
        }
    }
}

/// Errors of the serving protocols that the core has no case for.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A requested output that the model does not have (404).
    case unknownOutput(model: String, output: String, hint: String)

    public var description: String {
        switch self {
        case let .unknownOutput(model, output, hint): "model '\(model)' has no output '\(output)': \(hint)"
        }
    }
}
