/// The state a stateful session carries between chunks: every recurrent layer's final states
/// (Keras `stateful=True`, served). A value type: the server keeps one per session id.
public struct SessionState: Sendable {
    /// The session's id.
    public let id: String
    /// The batch size, fixed by the first step (or the first state set).
    public private(set) var batch: Int?
    /// The state of each layer with state, by layer index; empty until the first step (zeros).
    public private(set) var states: [Int: LayerState] = [:]
    /// How many steps (chunks) have run.
    public private(set) var steps = 0

    /// A fresh session: zero state, batch not yet fixed.
    public init(id: String) {
        self.id = id
    }

    /// Runs one chunk (validated) through the whole model from the carried states and carries
    /// the new ones; `layer`, if given, is also captured and recorded as it asks.
    public mutating func step(_ model: LoadedModel, _ inputs: [Tensor], layer: LayerQuery?, clamps: [Int: [StateClamp]] = [:]) throws -> ForwardResult {
        try step(model, inputs, capture: layer.map { [$0.layer] } ?? [],
                 traces: layer.flatMap { $0.trace.isEmpty ? nil : [$0.layer: $0.trace] } ?? [:], clamps: clamps)
    }

    /// Runs one chunk (`inputs`, one per model input, validated) like `step(_:_:layer:)`,
    /// capturing the outputs of the layers in `capture` and recording the steps of those in
    /// `traces` (several layers at once: the V2 protocol's outputs), and clamping `clamps`
    /// (interventions, their steps counted in this chunk).
    public mutating func step(_ model: LoadedModel, _ inputs: [Tensor], capture: Set<Int>, traces: [Int: TraceOptions],
                              clamps: [Int: [StateClamp]] = [:]) throws -> ForwardResult {
        let rows = inputs[0].shape[0]
        if let batch, batch != rows {
            throw PeepholeError.invalidInput(field: "inputs", message: "this session's batch size is \(batch) (fixed by its first step), got \(rows)")
        }
        let network = model.network
        let result = network.run(
            inputs, capture: capture, states: Set(network.recurrentLayerIndices), initialStates: states, traces: traces, clamps: clamps)
        batch = rows
        states = result.states
        steps += 1
        return result
    }

    /// Zeroes every state (the batch size stays).
    public mutating func reset() {
        states = [:]
    }

    /// Replaces the states of the layers in `updated` (checked against the model for `rows`
    /// rows, the session's batch size once it has one); fixes the batch size.
    public mutating func set(_ updated: [Int: LayerState], rows: Int) {
        batch = rows
        states.merge(updated) { $1 }
    }

    /// The state of the layer at `index` (one with state): zeros before the first step.
    public func state(of index: Int, in network: Network) -> LayerState {
        states[index] ?? network.layers[index].zeroState(batch: batch ?? 0)
    }
}
