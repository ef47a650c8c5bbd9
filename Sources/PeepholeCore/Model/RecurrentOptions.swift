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
    /// Whether the layer also outputs its final `h` and `c` (Keras `return_state`).
    public var returnState = false
}

/// The inference-relevant options of one GRU (or one direction of a Bidirectional GRU).
public struct GRUOptions: Sendable, Equatable {
    /// The size of the hidden state.
    public var units: Int
    /// Applied to the candidate (Keras `activation`).
    public var activation: Activation
    /// Applied to the update and reset gates (Keras `recurrent_activation`).
    public var recurrentActivation: Activation
    /// Whether the layer has bias vectors.
    public var useBias: Bool
    /// Whether the output is the hidden state at every step, or only the last.
    public var returnSequences: Bool
    /// Whether the sequence is processed last step first (outputs stay in processed order).
    public var goBackwards: Bool
    /// Whether masked steps output zeros rather than repeating the previous output.
    public var zeroOutputForMask: Bool
    /// Whether the layer also outputs its final `h` (Keras `return_state`).
    public var returnState: Bool
    /// Whether the reset gate multiplies the recurrent product (Keras' default, cuDNN-compatible)
    /// rather than the previous state before it.
    public var resetAfter: Bool
}

/// The inference-relevant options of one SimpleRNN (or one direction of a Bidirectional one).
public struct SimpleRNNOptions: Sendable, Equatable {
    /// The size of the hidden state.
    public var units: Int
    /// Applied to the new state (Keras `activation`).
    public var activation: Activation
    /// Whether the layer has a bias vector.
    public var useBias: Bool
    /// Whether the output is the hidden state at every step, or only the last.
    public var returnSequences: Bool
    /// Whether the sequence is processed last step first (outputs stay in processed order).
    public var goBackwards: Bool
    /// Whether masked steps output zeros rather than repeating the previous output.
    public var zeroOutputForMask: Bool
    /// Whether the layer also outputs its final `h` (Keras `return_state`).
    public var returnState: Bool
}

/// One recurrent layer's kind and options: a direction of a Bidirectional layer.
public enum RecurrentKind: Sendable, Equatable {
    /// States `h` and `c`.
    case lstm(LSTMOptions)
    /// State `h`.
    case gru(GRUOptions)
    /// State `h`.
    case simpleRNN(SimpleRNNOptions)

    /// The width of the hidden state.
    public var units: Int {
        switch self {
        case let .lstm(options): options.units
        case let .gru(options): options.units
        case let .simpleRNN(options): options.units
        }
    }

    /// Whether the output is every step's output.
    public var returnSequences: Bool {
        switch self {
        case let .lstm(options): options.returnSequences
        case let .gru(options): options.returnSequences
        case let .simpleRNN(options): options.returnSequences
        }
    }

    /// Whether the sequence is processed last step first.
    public var goBackwards: Bool {
        switch self {
        case let .lstm(options): options.goBackwards
        case let .gru(options): options.goBackwards
        case let .simpleRNN(options): options.goBackwards
        }
    }

    /// The per-step values a trace's `gates` records, in order: LSTM `i f g o` and the cell state
    /// `c`; GRU `z r hh`; SimpleRNN none.
    public var gateNames: [String] {
        switch self {
        case .lstm: ["i", "f", "g", "o", "c"]
        case .gru: ["z", "r", "hh"]
        case .simpleRNN: []
        }
    }

    /// Whether the final states are outputs too.
    public var returnState: Bool {
        switch self {
        case let .lstm(options): options.returnState
        case let .gru(options): options.returnState
        case let .simpleRNN(options): options.returnState
        }
    }

    /// The states the kind carries: LSTM `h` and `c`, the others `h`.
    public var stateNames: [String] {
        if case .lstm = self { return ["h", "c"] }
        return ["h"]
    }

    /// The weights of one direction, prefixed (`forward/kernel`).
    func weights(inputWidth: Int, prefix: String) -> [(name: String, shape: [Int])] {
        let (gates, useBias, biasShape): (Int, Bool, [Int]) = switch self {
        case let .lstm(options): (4, options.useBias, [4 * options.units])
        case let .gru(options): (3, options.useBias, options.resetAfter ? [2, 3 * options.units] : [3 * options.units])
        case let .simpleRNN(options): (1, options.useBias, [options.units])
        }
        return [(prefix + "kernel", [inputWidth, gates * units]), (prefix + "recurrent_kernel", [units, gates * units])]
            + (useBias ? [(prefix + "bias", biasShape)] : [])
    }
}

