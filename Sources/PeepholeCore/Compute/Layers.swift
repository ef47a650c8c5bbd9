/// A fully connected layer over the last axis.
struct DenseLayer: Sendable {
    let units: Int
    let inputWidth: Int
    /// `[inputWidth, units]`, packed for the matrix kernel.
    let kernel: PackedMatrix
    /// `[units]`; zeros for a layer without bias.
    let bias: [Float]
    let activation: Activation

    init(units: Int, inputWidth: Int, kernel: [Float], bias: [Float], activation: Activation) {
        self.units = units
        self.inputWidth = inputWidth
        self.kernel = PackedMatrix(kernel, rows: inputWidth, columns: units)
        self.bias = bias
        self.activation = activation
    }

    /// `[…, inputWidth]` → `[…, units]`.
    func run(_ input: Tensor) -> Tensor {
        precondition(input.lastDimension == inputWidth, "Dense input width \(input.lastDimension)")
        var output = kernel.affine(input.data, lda: inputWidth, count: input.rows, bias: bias)
        output.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count, width: units) }
        return Tensor(shape: input.shape.dropLast() + [units], data: output)
    }
}

/// Token ids to vectors.
struct EmbeddingLayer: Sendable {
    let inputDim: Int
    let outputDim: Int
    let maskZero: Bool
    /// `[inputDim, outputDim]`.
    let embeddings: [Float]

    /// `[batch, steps]` of ids (validated by the caller) → `[batch, steps, outputDim]`.
    func run(_ ids: Tensor) -> Tensor {
        var output = [Float](repeating: 0, count: ids.data.count * outputDim)
        for (position, id) in ids.data.enumerated() {
            let from = Int(id) * outputDim, to = position * outputDim
            for feature in 0..<outputDim { output[to + feature] = embeddings[from + feature] }
        }
        return Tensor(shape: ids.shape + [outputDim], data: output)
    }
}

/// A forward and a backward recurrent layer of one kind, merged.
struct BidirectionalLayer: Sendable {
    let forward: any RecurrentDirection
    let backward: any RecurrentDirection
    let merge: MergeMode

    /// Runs both directions; the backward sequence is flipped back to input order before merging.
    /// Returns the merged output and each direction's final states.
    func run(_ input: Tensor, mask: [Bool]?, initial: (forward: [Tensor]?, backward: [Tensor]?) = (nil, nil),
             traces: (TraceRecorder?, TraceRecorder?) = (nil, nil)) -> (output: Tensor, forward: [Tensor], backward: [Tensor]) {
        let forwardResult = forward.run(input, mask: mask, initial: initial.forward, trace: traces.0)
        var backwardResult = backward.run(input, mask: mask, initial: initial.backward, trace: traces.1)
        if backward.returnSequences {
            backwardResult.output = Self.reversedInTime(backwardResult.output)
        }
        let merged = Self.merge(forwardResult.output, backwardResult.output, mode: merge)
        return (merged, forwardResult.states, backwardResult.states)
    }

    private static func reversedInTime(_ tensor: Tensor) -> Tensor {
        let batch = tensor.shape[0], steps = tensor.shape[1], width = tensor.shape[2]
        var data = [Float](repeating: 0, count: tensor.data.count)
        for row in 0..<batch {
            for step in 0..<steps {
                let from = (row * steps + step) * width, to = (row * steps + steps - 1 - step) * width
                for feature in 0..<width { data[to + feature] = tensor.data[from + feature] }
            }
        }
        return Tensor(shape: tensor.shape, data: data)
    }

    private static func merge(_ a: Tensor, _ b: Tensor, mode: MergeMode) -> Tensor {
        switch mode {
        case .concat:
            let rows = a.rows, wa = a.lastDimension, wb = b.lastDimension
            var data = [Float](repeating: 0, count: rows * (wa + wb))
            for row in 0..<rows {
                for index in 0..<wa { data[row * (wa + wb) + index] = a.data[row * wa + index] }
                for index in 0..<wb { data[row * (wa + wb) + wa + index] = b.data[row * wb + index] }
            }
            return Tensor(shape: a.shape.dropLast() + [wa + wb], data: data)
        case .sum: return Tensor(shape: a.shape, data: zip(a.data, b.data).map { $0 + $1 })
        case .mul: return Tensor(shape: a.shape, data: zip(a.data, b.data).map { $0 * $1 })
        case .ave: return Tensor(shape: a.shape, data: zip(a.data, b.data).map { ($0 + $1) / 2 })
        }
    }
}
