/// A forward pass whose output rows depend only on their own input rows, so that requests of one
/// model version may share it (the batcher's unit of work).
public enum ForwardPass: Hashable, Sendable {
    /// The whole model's output.
    case model
    /// The output of the layer at this index.
    case layer(Int)

    /// This pass's output for `input` (validated).
    public func output(of network: Network, _ input: Tensor) -> Tensor {
        switch self {
        case .model: network.run(input).output
        case let .layer(index): network.run(input, through: index, capture: [index]).layerOutputs[index]!
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

    /// A query of the layer at `layer` for its output alone.
    public init(layer: Int) { self.layer = layer }

    /// Whether only the output is asked for: then the pass may be shared with other requests.
    public var isPlain: Bool { !states && trace.isEmpty && initialState == nil }

    /// Runs the layers this one depends on over `inputs` (validated, the model's in its order),
    /// recording what is asked.
    public func run(on network: Network, _ inputs: [Tensor]) -> ForwardResult {
        network.run(
            inputs, through: layer, capture: [layer], states: states ? [layer] : [],
            initialStates: initialState.map { [layer: $0] } ?? [:], traces: trace.isEmpty ? [:] : [layer: trace])
    }
}
