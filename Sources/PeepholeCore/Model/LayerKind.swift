/// How two directions of a Bidirectional layer are combined (Keras `merge_mode`).
public enum MergeMode: String, Codable, Sendable {
    case concat, sum, mul, ave
}

/// The inference-relevant options of one LSTM (or one direction of a Bidirectional LSTM).
public struct LSTMOptions: Sendable, Equatable {
    /// The size of the hidden and cell state.
    public var units: Int
    /// Applied to the candidate and to the cell state before the output gate (Keras `activation`).
    public var activation: Activation
    /// Applied to the input, forget and output gates (Keras `recurrent_activation`).
    public var recurrentActivation: Activation
    /// Whether the layer has a bias vector.
    public var useBias: Bool
    /// Whether the output is the hidden state at every step, or only the last.
    public var returnSequences: Bool
    /// Whether the sequence is processed last step first (outputs stay in processed order).
    public var goBackwards: Bool
    /// Whether masked steps output zeros rather than repeating the previous output.
    public var zeroOutputForMask: Bool
}

/// What a layer computes, parsed from its Keras configuration; the weights come separately.
public enum LayerKind: Sendable, Equatable {
    /// Token ids `[batch, steps]` to vectors `[batch, steps, outputDim]`.
    case embedding(inputDim: Int, outputDim: Int, maskZero: Bool)
    /// A long short-term memory layer.
    case lstm(LSTMOptions)
    /// Two LSTMs over the sequence, forwards and backwards, merged.
    case bidirectional(forward: LSTMOptions, backward: LSTMOptions, merge: MergeMode)
    /// A fully connected layer over the last axis (`timeDistributed` for `TimeDistributed(Dense)`).
    case dense(units: Int, activation: Activation, useBias: Bool, timeDistributed: Bool)
    /// Identity at inference (Dropout).
    case dropout
    /// Masks steps whose features all equal `value`, and zeroes them.
    case masking(value: Float)
    /// An activation applied on its own.
    case activation(Activation)
    /// Reshapes `[batch, a, b, …]` to `[batch, a·b·…]`.
    case flatten

    /// The weights this layer needs for an input with feature width `inputWidth`, in the order
    /// Keras lists them (`weight_names`, `vars/0…`).
    public func expectedWeights(inputWidth: Int) -> [(name: String, shape: [Int])] {
        switch self {
        case let .embedding(inputDim, outputDim, _):
            return [("embeddings", [inputDim, outputDim])]
        case let .lstm(options):
            return Self.lstmWeights(options, inputWidth: inputWidth, prefix: "")
        case let .bidirectional(forward, backward, _):
            return Self.lstmWeights(forward, inputWidth: inputWidth, prefix: "forward/")
                + Self.lstmWeights(backward, inputWidth: inputWidth, prefix: "backward/")
        case let .dense(units, _, useBias, _):
            return [("kernel", [inputWidth, units])] + (useBias ? [("bias", [units])] : [])
        case .dropout, .masking, .activation, .flatten:
            return []
        }
    }

    private static func lstmWeights(_ options: LSTMOptions, inputWidth: Int, prefix: String) -> [(name: String, shape: [Int])] {
        let gates = 4 * options.units
        return [(prefix + "kernel", [inputWidth, gates]), (prefix + "recurrent_kernel", [options.units, gates])]
            + (options.useBias ? [(prefix + "bias", [gates])] : [])
    }

    /// The output shape (without the batch axis; nil for an axis of any size) for `input`.
    public func outputShape(layer: String, input: [Int?]) throws -> [Int?] {
        func requireRank(_ rank: Int) throws {
            guard input.count == rank else {
                throw PeepholeError.unsupported(layer: layer, detail: "expects input of rank \(rank + 1) (batch included), got rank \(input.count + 1)")
            }
        }
        switch self {
        case let .embedding(_, outputDim, _):
            try requireRank(1)
            return input + [outputDim]
        case let .lstm(options):
            try requireRank(2)
            return options.returnSequences ? [input[0], options.units] : [options.units]
        case let .bidirectional(forward, backward, merge):
            try requireRank(2)
            let width = merge == .concat ? forward.units + backward.units : forward.units
            return forward.returnSequences ? [input[0], width] : [width]
        case let .dense(units, _, _, timeDistributed):
            guard !input.isEmpty, !timeDistributed || input.count >= 2 else {
                throw PeepholeError.unsupported(layer: layer, detail: "needs a feature axis")
            }
            return input.dropLast() + [units]
        case .dropout, .masking, .activation:
            return input
        case .flatten:
            let known = input.compactMap { $0 }
            return [known.count == input.count ? known.reduce(1, *) : nil]
        }
    }
}
