/// What a layer computes, parsed from its Keras configuration; the weights come separately.
public enum LayerKind: Sendable, Equatable {
    /// Token ids `[batch, steps]` to vectors `[batch, steps, outputDim]`.
    case embedding(inputDim: Int, outputDim: Int, maskZero: Bool)
    /// A long short-term memory layer.
    case lstm(LSTMOptions)
    /// Two LSTMs over the sequence, forwards and backwards, merged.
    case bidirectional(forward: LSTMOptions, backward: LSTMOptions, merge: MergeMode)
    /// A gated recurrent unit layer.
    case gru(GRUOptions)
    /// A fully connected recurrent layer.
    case simpleRNN(SimpleRNNOptions)
    /// Two GRUs or SimpleRNNs over the sequence, forwards and backwards, merged.
    case bidirectionalRNN(forward: RecurrentKind, backward: RecurrentKind, merge: MergeMode)
    /// A fully connected layer over the last axis (`timeDistributed` for `TimeDistributed(Dense)`).
    case dense(units: Int, activation: Activation, useBias: Bool, timeDistributed: Bool)
    /// Identity at inference (Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout).
    case dropout
    /// Masks steps whose features all equal `value`, and zeroes them.
    case masking(value: Float)
    /// An activation applied on its own.
    case activation(Activation)
    /// Reshapes `[batch, a, b, …]` to `[batch, a·b·…]`.
    case flatten
    /// A 1-D convolution over the steps, channels last.
    case conv1D(Conv1DOptions)
    /// Max or average pooling over windows of steps.
    case pooling1D(Pooling1DOptions)
    /// Max or average over all steps (`average` pools only unmasked steps).
    case globalPooling1D(average: Bool)
    /// Normalises each row over its last axis, then scales and shifts.
    case layerNormalization(epsilon: Float, center: Bool, scale: Bool)
    /// Normalises the last axis with the moving statistics learnt in training.
    case batchNormalization(epsilon: Float, center: Bool, scale: Bool)
    /// An element-wise merge of several tensors of one shape; `masks` is how their masks combine.
    case merge(MergeOperation, masks: MaskCombination)
    /// Joins several tensors along `axis` (counted with the batch axis, negative from the end).
    case concatenate(axis: Int, masks: MaskCombination)
    /// The dot product of two tensors of rank 2 or 3 along `axes` (counted with the batch axis,
    /// negative from the end), after scaling both to unit length along them with `normalize`.
    case dot(axes: [Int], normalize: Bool)
    /// `[batch, features]` → `[batch, count, features]`.
    case repeatVector(count: Int)
    /// Reshapes the axes after the batch to `shape` (one entry may be -1).
    case reshape(shape: [Int])
    /// Permutes the axes after the batch (`dims` counts them from 1, as Keras does).
    case permute(dims: [Int])

    /// The weights this layer needs for an input with feature width `inputWidth`, in the order
    /// Keras lists them (`weight_names`, `vars/0…`).
    public func expectedWeights(inputWidth: Int) -> [(name: String, shape: [Int])] {
        switch self {
        case let .embedding(inputDim, outputDim, _):
            return [("embeddings", [inputDim, outputDim])]
        case let .lstm(options):
            return RecurrentKind.lstm(options).weights(inputWidth: inputWidth, prefix: "")
        case let .bidirectional(forward, backward, _):
            return RecurrentKind.lstm(forward).weights(inputWidth: inputWidth, prefix: "forward/")
                + RecurrentKind.lstm(backward).weights(inputWidth: inputWidth, prefix: "backward/")
        case let .gru(options):
            return RecurrentKind.gru(options).weights(inputWidth: inputWidth, prefix: "")
        case let .simpleRNN(options):
            return RecurrentKind.simpleRNN(options).weights(inputWidth: inputWidth, prefix: "")
        case let .bidirectionalRNN(forward, backward, _):
            return forward.weights(inputWidth: inputWidth, prefix: "forward/") + backward.weights(inputWidth: inputWidth, prefix: "backward/")
        case let .dense(units, _, useBias, _):
            return [("kernel", [inputWidth, units])] + (useBias ? [("bias", [units])] : [])
        case let .conv1D(options):
            return [("kernel", [options.kernelSize, inputWidth, options.filters])] + (options.useBias ? [("bias", [options.filters])] : [])
        case let .layerNormalization(_, center, scale):
            return (scale ? [("gamma", [inputWidth])] : []) + (center ? [("beta", [inputWidth])] : [])
        case let .batchNormalization(_, center, scale):
            return (scale ? [("gamma", [inputWidth])] : []) + (center ? [("beta", [inputWidth])] : [])
                + [("moving_mean", [inputWidth]), ("moving_variance", [inputWidth])]
        case .dropout, .masking, .activation, .flatten, .pooling1D, .globalPooling1D, .merge, .concatenate,
             .dot, .repeatVector, .reshape, .permute:
            return []
        }
    }

    /// The recurrent directions of a recurrent layer (one, or forward and backward); nil otherwise.
    public var recurrentDirections: [RecurrentKind]? {
        switch self {
        case let .lstm(options): [.lstm(options)]
        case let .gru(options): [.gru(options)]
        case let .simpleRNN(options): [.simpleRNN(options)]
        case let .bidirectional(forward, backward, _): [.lstm(forward), .lstm(backward)]
        case let .bidirectionalRNN(forward, backward, _): [forward, backward]
        default: nil
        }
    }

    /// How many tensors the layer outputs: one, plus every direction's states with `return_state`.
    public var outputCount: Int {
        guard let directions = recurrentDirections, directions[0].returnState else { return 1 }
        return 1 + directions.reduce(0) { $0 + $1.stateNames.count }
    }
}

/// The options of a `Conv1D` layer.
public struct Conv1DOptions: Sendable, Equatable {
    /// How the steps are padded: not at all, at both ends to keep `ceil(steps / strides)`
    /// outputs (the extra step at the end), or at the start only so no output sees a later step.
    public enum Padding: String, Sendable { case valid, same, causal }
    /// Output channels.
    public var filters: Int
    /// Taps of the kernel.
    public var kernelSize: Int
    /// Steps between two outputs.
    public var strides: Int
    /// Steps between two taps.
    public var dilationRate: Int
    /// Padding of the steps.
    public var padding: Padding
    /// Applied to the output.
    public var activation: Activation
    /// Whether the layer has a bias vector.
    public var useBias: Bool
}

/// The options of `MaxPooling1D` and `AveragePooling1D`.
public struct Pooling1DOptions: Sendable, Equatable {
    /// Average rather than maximum.
    public var average: Bool
    /// Steps per window.
    public var poolSize: Int
    /// Steps between two windows.
    public var strides: Int
    /// `same` pads the end so that every step starts a window (`ceil(steps / strides)` outputs).
    public var samePadding: Bool
}

/// How a merge combines its inputs' masks, which Keras 3 and tf-keras do differently.
public enum MaskCombination: String, Sendable {
    /// Keras 3: a step is kept when any input keeps it (an element-wise merge gives no mask unless
    /// every input has one; a concatenation counts an input without a mask as keeping every step).
    case any
    /// tf-keras (Keras 2): a step is kept when every input that has a mask keeps it.
    case all
}

/// An element-wise merge of several tensors (Keras `Add`, `Subtract`, …).
public enum MergeOperation: String, Sendable {
    /// The sum, the first input minus the second, the product, the mean, the maximum, the minimum.
    case add, subtract, multiply, average, maximum, minimum
}
