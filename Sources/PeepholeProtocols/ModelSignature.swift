import PeepholeCore

/// A model's named inputs and outputs, as the serving protocols (KServe V2, TF Serving) list
/// them in their metadata and match them in requests: the Keras model's inputs (a Sequential
/// model's one input is `input`) and outputs (Keras' `output_names`).
public struct ModelSignature: Sendable, Equatable {
    /// One named tensor: shape batch first, nil for an axis of any size.
    public struct TensorSpec: Sendable, Equatable {
        /// The name a request uses.
        public var name: String
        /// The shape, batch first; nil for an axis of any size (`-1` on the wire).
        public var shape: [Int?]
        /// The element type.
        public var dtype: InputDType
    }

    /// The model's inputs, in order.
    public var inputs: [TensorSpec]
    /// The model's outputs, in order.
    public var outputs: [TensorSpec]

    /// The signature of `model`.
    public init(_ model: LoadedModel) {
        let network = model.network
        inputs = network.inputs.map { TensorSpec(name: $0.name, shape: [nil] + $0.shape, dtype: $0.dtype) }
        outputs = network.outputs.map { TensorSpec(name: $0.name, shape: [nil] + network.shape(of: $0), dtype: .float32) }
    }
}
