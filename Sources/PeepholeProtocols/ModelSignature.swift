import PeepholeCore

/// A model's named inputs and outputs, as the serving protocols (KServe V2, TF Serving) list
/// them in their metadata and match them in requests. The one place names and shapes are
/// derived: a model has one input and one output today; a graph with several named ones only
/// changes this file.
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

    /// The name of a single input when the stored architecture names none (the InputLayer's
    /// name is not kept in the store).
    public static let defaultInputName = "input"

    /// The signature of `model`: its one input, named `input`, and its one output, named after
    /// its last layer (Keras' output name for a Sequential model).
    public init(_ model: LoadedModel) {
        inputs = [TensorSpec(name: Self.defaultInputName, shape: [nil] + model.network.inputShape, dtype: model.network.inputDType)]
        let last = model.network.layers.last
        outputs = [TensorSpec(name: last?.name ?? "output", shape: [nil] + (last?.outputShape ?? model.network.inputShape), dtype: .float32)]
    }
}
