/// A forward pass whose output rows depend only on their own input rows, so that requests of one
/// model version may share it (the batcher's unit of work).
public enum ForwardPass: Hashable, Sendable {
    /// The whole model's output.
    case model
    /// The output of the layer at this index.
    case layer(Int)

    /// This pass's outputs for `inputs` (validated, the model's in its order): every model
    /// output, or the layer's output.
    public func outputs(of network: Network, _ inputs: [Tensor]) -> [Tensor] {
        switch self {
        case .model: network.run(inputs).outputs
        case let .layer(index): [network.run(inputs, through: index, capture: [index]).layerOutputs[index]!]
        }
    }
}

/// What a layer-output request asks of one layer: its output, and for a recurrent layer its
/// final states, its steps recorded, and the state it starts from.
public struct LayerQuery: Sendable {
    /// The layer's index in the network.
    public var layer: Int
    /// Return the layer's final states.
    public var states = false
    /// What to record step by step.
    public var trace = TraceOptions()
    /// The state the layer starts from instead of zeros.
    public var initialState: LayerState?
    /// States clamped during the pass (interventions), by layer index.
    public var clamps: [Int: [StateClamp]] = [:]

    /// A query of the layer at `layer` for its output alone.
    public init(layer: Int) { self.layer = layer }

    /// Whether only the output is asked for: then the pass may be shared with other requests.
    public var isPlain: Bool { !states && trace.isEmpty && initialState == nil && clamps.isEmpty }

    /// Runs the layers this one depends on over `inputs` (validated, the model's in its order),
    /// recording what is asked.
    public func run(on network: Network, _ inputs: [Tensor]) -> ForwardResult {
        network.run(
            inputs, through: layer, capture: [layer], states: states ? [layer] : [],
            initialStates: initialState.map { [layer: $0] } ?? [:], traces: trace.isEmpty ? [:] : [layer: trace], clamps: clamps)
    }
}

extension StateClamp {
    /// This clamp for a run that starts at step `offset` of the text it belongs to: its steps
    /// counted from there; nil when none of them falls in that run.
    func shifted(by offset: Int) -> StateClamp? {
        guard let steps else { return self }
        guard steps.upperBound > offset else { return nil }
        var shifted = self
        shifted.steps = max(0, steps.lowerBound - offset)..<(steps.upperBound - offset)
        return shifted
    }

    /// `clamps` (by layer index) for a run that starts at step `offset`.
    static func shift(_ clamps: [Int: [StateClamp]], by offset: Int) -> [Int: [StateClamp]] {
        clamps.mapValues { $0.compactMap { $0.shifted(by: offset) } }.filter { !$0.value.isEmpty }
    }
}
