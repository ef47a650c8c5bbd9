/// Where a tensor of the graph comes from.
public enum TensorSource: Sendable, Hashable, Codable {
    /// The model's input at this index.
    case input(Int)
    /// Output `output` of the layer at this index (a recurrent layer with `return_state` has several).
    case layer(Int, output: Int)
    /// The result of the mask operation at this index.
    case operation(Int)
}

/// How a layer is called: which tensors it takes.
public struct LayerCall: Sendable, Equatable, Codable {
    /// The data inputs, in order (several for a merge).
    public var inputs: [TensorSource]
    /// The recurrent layer's starting states (Keras `initial_state`: LSTM `[h, c]`, GRU `[h]`, per
    /// direction for a Bidirectional layer).
    public var initialState: [TensorSource] = []
    /// An explicit mask (Keras `mask=`); without one the layer takes its first input's mask.
    public var mask: TensorSource?

    /// A call on `inputs`.
    public init(inputs: [TensorSource], initialState: [TensorSource] = [], mask: TensorSource? = nil) {
        self.inputs = inputs
        self.initialState = initialState
        self.mask = mask
    }
}

/// An operation Keras 3 writes into a Functional graph to compute a mask (`keras.ops`), not a layer.
public struct MaskOperation: Sendable, Equatable, Codable {
    /// What it computes.
    public enum Kind: Sendable, Equatable, Codable {
        /// `x != value`, element-wise, as 0 or 1.
        case notEqual(value: Float)
        /// Whether any value along the last axis is non-zero.
        case anyLastAxis
    }
    /// Its name in the configuration.
    public var name: String
    /// What it computes.
    public var kind: Kind
    /// Its argument.
    public var input: TensorSource
}

/// One input of a model.
public struct GraphInput: Sendable, Equatable, Codable {
    /// The InputLayer's name (the key of a request's named inputs).
    public var name: String
    /// The shape without the batch axis; nil for an axis of any size.
    public var shape: [Int?]
    /// Float features, or token ids for an input that feeds an Embedding.
    public var dtype: InputDType
}

/// One output of a model.
public struct GraphOutput: Sendable, Equatable, Codable {
    /// The output's name (Keras' `output_names`: the layer's name).
    public var name: String
    /// The tensor it is.
    public var source: TensorSource
    /// Its shape without the batch axis (nil for an axis of any size).
    public var shape: [Int?] = []
}

/// The wiring of a model: its inputs and outputs, how each layer is called, and the mask operations.
public struct KerasGraph: Sendable, Equatable, Codable {
    /// The inputs, in the model's order.
    public var inputs: [GraphInput]
    /// The outputs, in the model's order.
    public var outputs: [GraphOutput]
    /// One call per layer, in the order of the architecture's layers.
    public var calls: [LayerCall]
    /// The mask operations of a Keras 3 Functional model.
    public var operations: [MaskOperation] = []

    /// One input through every layer in turn to one output: a Sequential model, or a Functional
    /// model that is a chain.
    public static func chain(input: GraphInput, layerNames: [String]) -> KerasGraph {
        let calls = layerNames.indices.map { LayerCall(inputs: [$0 == 0 ? .input(0) : .layer($0 - 1, output: 0)]) }
        let output = layerNames.isEmpty ? TensorSource.input(0) : .layer(layerNames.count - 1, output: 0)
        return KerasGraph(inputs: [input], outputs: [GraphOutput(name: layerNames.last ?? input.name, source: output)], calls: calls)
    }

    /// Whether this graph is a chain: one input named `input` (a Sequential model's) through every
    /// layer in turn to one output; such a graph is stored as its input shape alone.
    public var isChain: Bool {
        guard inputs.count == 1, inputs[0].name == "input", outputs.count == 1, operations.isEmpty else { return false }
        guard outputs[0].source == (calls.isEmpty ? .input(0) : .layer(calls.count - 1, output: 0)) else { return false }
        return calls.enumerated().allSatisfy { index, call in
            call == LayerCall(inputs: [index == 0 ? .input(0) : .layer(index - 1, output: 0)])
        }
    }

    /// The sources `call` reads: its inputs, initial states and mask.
    static func dependencies(_ call: LayerCall) -> [TensorSource] {
        call.inputs + call.initialState + (call.mask.map { [$0] } ?? [])
    }
}
