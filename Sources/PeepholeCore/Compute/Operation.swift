/// A tensor flowing through the graph, with the mask Keras attaches to it: one entry per
/// `[batch, steps]` position, true where the step counts.
struct Value {
    var tensor: Tensor
    var mask: [Bool]?
}

/// A layer's computation with its weights arranged for the kernels. Each case's `apply` also
/// states the layer's mask rule: what mask its outputs carry, given its inputs' (Keras' rules).
enum Operation: Sendable {
    case embedding(EmbeddingLayer)
    case recurrent(any RecurrentDirection)
    case bidirectional(BidirectionalLayer)
    case dense(DenseLayer)
    case identity
    case masking(Float)
    case activation(Activation)
    case flatten
    case conv1D(Conv1DLayer)
    case pooling1D(Pooling1DOptions)
    case globalPooling1D(average: Bool)
    case normalization(NormalizationLayer)
    case merge(MergeOperation, MaskCombination)
    case concatenate(axis: Int, MaskCombination)
    case dot(axes: [Int], normalize: Bool)
    case repeatVector(Int)
    case reshape([Int])
    case permute([Int])

    /// Builds the operation of `kind` for inputs of feature width `inputWidth` from its weights by
    /// canonical name (checked against `kind.expectedWeights` by the caller).
    init(_ kind: LayerKind, inputWidth: Int, inputRank: Int, weights: [String: [Float]]) {
        func direction(_ kind: RecurrentKind, _ prefix: String) -> any RecurrentDirection {
            let kernel = weights[prefix + "kernel"]!, recurrent = weights[prefix + "recurrent_kernel"]!, bias = weights[prefix + "bias"]
            switch kind {
            case let .lstm(options):
                return LSTMLayer(options: options, inputWidth: inputWidth, kernel: kernel, recurrentKernel: recurrent,
                                 bias: bias ?? [Float](repeating: 0, count: 4 * options.units))
            case let .gru(options):
                return GRULayer(options: options, inputWidth: inputWidth, kernel: kernel, recurrentKernel: recurrent, bias: bias)
            case let .simpleRNN(options):
                return SimpleRNNLayer(options: options, inputWidth: inputWidth, kernel: kernel, recurrentKernel: recurrent, bias: bias)
            }
        }
        switch kind {
        case let .embedding(inputDim, outputDim, maskZero):
            self = .embedding(EmbeddingLayer(inputDim: inputDim, outputDim: outputDim, maskZero: maskZero, embeddings: weights["embeddings"]!))
        case .lstm, .gru, .simpleRNN:
            self = .recurrent(direction(kind.recurrentDirections![0], ""))
        case let .bidirectional(forward, backward, merge):
            self = .bidirectional(BidirectionalLayer(forward: direction(.lstm(forward), "forward/"), backward: direction(.lstm(backward), "backward/"), merge: merge))
        case let .bidirectionalRNN(forward, backward, merge):
            self = .bidirectional(BidirectionalLayer(forward: direction(forward, "forward/"), backward: direction(backward, "backward/"), merge: merge))
        case let .dense(units, activation, _, _):
            self = .dense(DenseLayer(units: units, inputWidth: inputWidth, kernel: weights["kernel"]!,
                                     bias: weights["bias"] ?? [Float](repeating: 0, count: units), activation: activation))
        case .dropout: self = .identity
        case let .masking(value): self = .masking(value)
        case let .activation(activation): self = .activation(activation)
        case .flatten: self = .flatten
        case let .conv1D(options):
            self = .conv1D(Conv1DLayer(options: options, channels: inputWidth, kernel: weights["kernel"]!, bias: weights["bias"]))
        case let .pooling1D(options): self = .pooling1D(options)
        case let .globalPooling1D(average): self = .globalPooling1D(average: average)
        case let .layerNormalization(epsilon, _, _):
            self = .normalization(NormalizationLayer(moving: nil, epsilon: epsilon, gamma: weights["gamma"], beta: weights["beta"]))
        case let .batchNormalization(epsilon, _, _):
            self = .normalization(NormalizationLayer(moving: (weights["moving_mean"]!, weights["moving_variance"]!), epsilon: epsilon,
                                                     gamma: weights["gamma"], beta: weights["beta"]))
        case let .merge(operation, masks): self = .merge(operation, masks)
        case let .concatenate(axis, masks): self = .concatenate(axis: axis < 0 ? axis + inputRank : axis, masks)
        case let .dot(axes, normalize): self = .dot(axes: axes, normalize: normalize)
        case let .repeatVector(count): self = .repeatVector(count)
        case let .reshape(shape): self = .reshape(shape)
        case let .permute(dims): self = .permute(dims)
        }
    }

    /// Applies a layer without state to its inputs; the recurrent layers run in `Network.runRecurrent`.
    func apply(_ inputs: [Value]) -> Value {
        let input = inputs[0]
        var value = input.tensor
        switch self {
        case let .embedding(embedding):
            // Keras: mask_zero masks the steps whose id is 0.
            return Value(tensor: embedding.run(value), mask: embedding.maskZero ? value.data.map { $0 != 0 } : nil)
        case .recurrent, .bidirectional:
            preconditionFailure("recurrent layers run in Network.runRecurrent")
        case let .dense(dense):
            // Keras: Dense passes its input's mask on, which only a sequence carries.
            let output = dense.run(value)
            return Value(tensor: output, mask: output.shape.count == 3 ? input.mask : nil)
        case .identity:
            return input
        case let .masking(maskValue):
            // Keras: a step whose features all equal the mask value is masked and zeroed.
            let width = value.lastDimension
            var keep = [Bool](repeating: false, count: value.rows)
            for row in 0..<value.rows {
                keep[row] = (0..<width).contains { value.data[row * width + $0] != maskValue }
                if !keep[row] { for feature in 0..<width { value.data[row * width + feature] = 0 } }
            }
            return Value(tensor: value, mask: keep)
        case let .activation(activation):
            let width = value.lastDimension
            value.data.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count, width: width) }
            return Value(tensor: value, mask: input.mask)
        case .normalization(let normalization):
            return Value(tensor: normalization.run(value), mask: input.mask)
        case .flatten:
            return Value(tensor: Tensor(shape: [value.shape[0], value.data.count / max(1, value.shape[0])], data: value.data), mask: nil)
        case let .conv1D(convolution):
            // Keras 3: convolutions and pooling do not support masks; the mask stops here.
            return Value(tensor: convolution.run(value), mask: nil)
        case let .pooling1D(options):
            return Value(tensor: Pooling.run(value, options), mask: nil)
        case let .globalPooling1D(average):
            // Keras: the average counts only unmasked steps; the maximum ignores the mask.
            return Value(tensor: Pooling.global(value, average: average, mask: average ? input.mask : nil), mask: nil)
        case let .merge(operation, masks):
            return Value(tensor: Merging.merge(inputs.map(\.tensor), operation), mask: Merging.mergeMask(inputs.map(\.mask), masks))
        case let .concatenate(axis, masks):
            let tensors = inputs.map(\.tensor)
            return Value(tensor: Merging.concatenate(tensors, axis: axis), mask: Merging.concatenateMask(tensors, inputs.map(\.mask), axis: axis, masks))
        case let .dot(axes, normalize):
            // Keras: a Dot gives no mask.
            return Value(tensor: Merging.dot(inputs[0].tensor, inputs[1].tensor, axes: axes, normalize: normalize), mask: nil)
        case let .repeatVector(count):
            return Value(tensor: Merging.repeatVector(value, count: count), mask: nil)
        case let .reshape(shape):
            let total = value.data.count / max(1, value.shape[0]), fixed = shape.filter { $0 != -1 }.reduce(1, *)
            return Value(tensor: Tensor(shape: [value.shape[0]] + shape.map { $0 == -1 ? total / fixed : $0 }, data: value.data), mask: nil)
        case let .permute(dims):
            return Value(tensor: Merging.permute(value, dims: dims), mask: nil)
        }
    }
}
