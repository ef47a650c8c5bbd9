/// The final state of an LSTM-based layer after a run.
public enum LayerState: Sendable, Equatable {
    /// A plain LSTM.
    case lstm(LSTMState)
    /// A Bidirectional LSTM: one state per direction.
    case bidirectional(forward: LSTMState, backward: LSTMState)
}

/// The per-step record of an LSTM-based layer after a run.
public enum LayerTrace: Sendable, Equatable {
    /// A plain LSTM.
    case lstm(LSTMTrace)
    /// A Bidirectional LSTM: one record per direction.
    case bidirectional(forward: LSTMTrace, backward: LSTMTrace)
}

/// What one forward pass produced.
public struct ForwardResult: Sendable {
    /// The output of the last layer run.
    public var output: Tensor
    /// The outputs of the layers asked for, by layer index.
    public var layerOutputs: [Int: Tensor]
    /// The final states of the LSTM layers asked for, by layer index.
    public var states: [Int: LayerState]
    /// The per-step records of the LSTM layers asked for, by layer index.
    public var traces: [Int: LayerTrace] = [:]
}

/// One layer of a loaded network.
public struct NetworkLayer: Sendable {
    /// The Keras layer name.
    public let name: String
    /// The Keras class name.
    public let className: String
    /// What it computes.
    public let kind: LayerKind
    /// The output shape without the batch axis (nil for an axis of any size).
    public let outputShape: [Int?]
    /// The number of weights.
    public let parameterCount: Int
    fileprivate let operation: Operation
}

/// A layer's computation with its weights arranged for the kernels.
private enum Operation: Sendable {
    case embedding(EmbeddingLayer)
    case lstm(LSTMCell)
    case bidirectional(BidirectionalLayer)
    case dense(DenseLayer)
    case identity
    case masking(Float)
    case activation(Activation)
    case flatten
}

/// A loaded model: immutable and shareable between threads; every call allocates its own scratch.
public struct Network: Sendable {
    /// The input shape without the batch axis (nil for an axis of any size).
    public let inputShape: [Int?]
    /// Float features or token ids.
    public let inputDType: InputDType
    /// The layers in order.
    public let layers: [NetworkLayer]
    /// The number of steps every input must have: set when a Flatten fixes the sequence length.
    public let requiredSteps: Int?

    /// Builds a network from an architecture and each layer's weights in canonical naming.
    public init(architecture: KerasArchitecture, weights: [[NamedTensor]]) throws {
        precondition(weights.count == architecture.layers.count, "one weight list per layer")
        let shapes = try architecture.outputShapes()
        let widths = try architecture.inputWidths()
        var layers: [NetworkLayer] = []
        for (index, layer) in architecture.layers.enumerated() {
            let expected = layer.kind.expectedWeights(inputWidth: widths[index])
            var named: [String: [Float]] = [:]
            for want in expected {
                guard let have = weights[index].first(where: { $0.name == want.name }) else {
                    throw PeepholeError.missingWeights(layer: layer.name, weight: want.name)
                }
                guard have.tensor.shape == want.shape else {
                    throw PeepholeError.weightShape(layer: layer.name, weight: want.name, expected: want.shape, got: have.tensor.shape)
                }
                named[want.name] = have.tensor.data
            }
            layers.append(NetworkLayer(
                name: layer.name, className: layer.className, kind: layer.kind, outputShape: shapes[index],
                parameterCount: expected.reduce(0) { $0 + $1.shape.reduce(1, *) },
                operation: Self.operation(layer.kind, inputWidth: widths[index], weights: named)))
        }
        self.inputShape = architecture.inputShape
        self.inputDType = architecture.inputDType
        self.layers = layers
        let flattens = architecture.layers.contains { $0.kind == .flatten }
        self.requiredSteps = flattens && architecture.inputShape.count >= 1 ? architecture.inputShape[0] : nil
    }

    private static func operation(_ kind: LayerKind, inputWidth: Int, weights: [String: [Float]]) -> Operation {
        func cell(_ options: LSTMOptions, _ prefix: String) -> LSTMCell {
            LSTMCell(options: options, inputWidth: inputWidth, kernel: weights[prefix + "kernel"]!,
                     recurrentKernel: weights[prefix + "recurrent_kernel"]!,
                     bias: weights[prefix + "bias"] ?? [Float](repeating: 0, count: 4 * options.units))
        }
        switch kind {
        case let .embedding(inputDim, outputDim, maskZero):
            return .embedding(EmbeddingLayer(inputDim: inputDim, outputDim: outputDim, maskZero: maskZero, embeddings: weights["embeddings"]!))
        case let .lstm(options):
            return .lstm(cell(options, ""))
        case let .bidirectional(forward, backward, merge):
            return .bidirectional(BidirectionalLayer(forward: cell(forward, "forward/"), backward: cell(backward, "backward/"), merge: merge))
        case let .dense(units, activation, _, _):
            return .dense(DenseLayer(units: units, inputWidth: inputWidth, kernel: weights["kernel"]!,
                                     bias: weights["bias"] ?? [Float](repeating: 0, count: units), activation: activation))
        case .dropout: return .identity
        case let .masking(value): return .masking(value)
        case let .activation(activation): return .activation(activation)
        case .flatten: return .flatten
        }
    }

    /// The index of the layer called `name`.
    public func layerIndex(named name: String) -> Int? {
        layers.firstIndex { $0.name == name }
    }

    /// The indices of the LSTM and Bidirectional layers: the layers with state.
    public var recurrentLayerIndices: [Int] {
        layers.indices.filter { layers[$0].stateUnits != nil }
    }

    /// Checks that `input` fits this network: rank, feature width, steps, token ids in range.
    public func validate(_ input: Tensor, field: String = "inputs") throws {
        let expectedRank = inputShape.count + 1
        guard input.shape.count == expectedRank else {
            throw PeepholeError.invalidInput(field: field, message: "expected \(expectedRank) nested levels \(Self.describe([nil] + inputShape)), got \(input.shape.count) \(input.shape)")
        }
        guard input.shape[0] > 0 else { throw PeepholeError.invalidInput(field: field, message: "the batch is empty") }
        if input.shape.count >= 2 {
            guard input.shape[1] > 0 else { throw PeepholeError.invalidInput(field: field, message: "sequences are empty (0 steps)") }
            if let requiredSteps, input.shape[1] != requiredSteps {
                throw PeepholeError.invalidInput(field: field, message: "this model flattens its sequence and needs exactly \(requiredSteps) steps, got \(input.shape[1])")
            }
        }
        for axis in 2..<max(2, expectedRank) {
            if let size = inputShape[axis - 1], size != input.shape[axis] {
                throw PeepholeError.invalidInput(field: field, message: "expected shape \(Self.describe([nil] + inputShape)), got \(input.shape): axis \(axis) must have \(size) values, got \(input.shape[axis])")
            }
        }
        if case let .embedding(embedding)? = layers.first?.operation {
            for (position, id) in input.data.enumerated() where id.rounded() != id || id < 0 || id >= Float(embedding.inputDim) {
                throw PeepholeError.invalidInput(field: field, message: "token id \(id) at flat position \(position) is not an integer in 0..<\(embedding.inputDim)")
            }
        }
    }

    /// Runs layers `0...last` (the whole model by default) on a validated input, keeping the
    /// outputs of the layers in `capture` and the final states of the LSTM layers in `states`.
    /// LSTM layers in `initialStates` start from those states (validated by the caller, see
    /// `validate(initialState:layer:batch:)`) instead of zeros; LSTM layers in `traces` record
    /// their steps.
    public func run(
        _ input: Tensor, through last: Int? = nil, capture: Set<Int> = [], states: Set<Int> = [],
        initialStates: [Int: LayerState] = [:], traces: [Int: TraceOptions] = [:]
    ) -> ForwardResult {
        let last = last ?? layers.count - 1
        var value = input
        var mask: [Bool]?
        var result = ForwardResult(output: input, layerOutputs: [:], states: [:])
        for index in 0...last {
            switch layers[index].operation {
            case let .embedding(embedding):
                mask = embedding.maskZero ? value.data.map { $0 != 0 } : nil
                value = embedding.run(value)
            case let .lstm(cell):
                let recorder = traces[index].map { LSTMTraceRecorder(options: $0, batch: value.shape[0], stepCount: value.shape[1], lstm: cell.options) }
                var initial: LSTMState?
                if case let .lstm(state)? = initialStates[index] { initial = state }
                let run = cell.run(value, mask: mask, initial: initial, trace: recorder)
                value = run.output
                if states.contains(index) { result.states[index] = .lstm(run.state) }
                if let recorder { result.traces[index] = .lstm(recorder.result) }
                if !cell.options.returnSequences { mask = nil }
            case let .bidirectional(bidirectional):
                let recorders = traces[index].map { options in
                    [bidirectional.forward, bidirectional.backward].map {
                        LSTMTraceRecorder(options: options, batch: value.shape[0], stepCount: value.shape[1], lstm: $0.options)
                    }
                }
                var initial: (LSTMState?, LSTMState?) = (nil, nil)
                if case let .bidirectional(forward, backward)? = initialStates[index] { initial = (forward, backward) }
                let run = bidirectional.run(value, mask: mask, initial: initial, traces: (recorders?[0], recorders?[1]))
                value = run.output
                if states.contains(index) { result.states[index] = .bidirectional(forward: run.forward, backward: run.backward) }
                if let recorders { result.traces[index] = .bidirectional(forward: recorders[0].result, backward: recorders[1].result) }
                if !bidirectional.forward.options.returnSequences { mask = nil }
            case let .dense(dense):
                value = dense.run(value)
                if value.shape.count != 3 { mask = nil }
            case .identity:
                break
            case let .masking(maskValue):
                let width = value.lastDimension
                var keep = [Bool](repeating: false, count: value.rows)
                for row in 0..<value.rows {
                    keep[row] = (0..<width).contains { value.data[row * width + $0] != maskValue }
                    if !keep[row] { for feature in 0..<width { value.data[row * width + feature] = 0 } }
                }
                mask = keep
            case let .activation(activation):
                let width = value.lastDimension
                value.data.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count, width: width) }
            case .flatten:
                value = Tensor(shape: [value.shape[0], value.data.count / max(1, value.shape[0])], data: value.data)
                mask = nil
            }
            if capture.contains(index) { result.layerOutputs[index] = value }
        }
        result.output = value
        return result
    }

    /// A Keras-style shape: `(None, 40, 76)`.
    public static func describe(_ shape: [Int?]) -> String {
        "(" + shape.map { $0.map(String.init) ?? "None" }.joined(separator: ", ") + ")"
    }
}
