extension LayerKind {
    /// The output shape (without the batch axis; nil for an axis of any size) for one `input`.
    public func outputShape(layer: String, input: [Int?]) throws -> [Int?] {
        try outputShapes(layer: layer, inputs: [input])[0]
    }

    /// The shapes of every output (see `outputCount`) for `inputs`, checking that they fit.
    /// Longer than a function should be: one short case per layer kind, so the shape rules read as
    /// one table.
    public func outputShapes(layer: String, inputs: [[Int?]]) throws -> [[Int?]] {
        func refuse(_ detail: String) -> PeepholeError { .unsupported(layer: layer, detail: detail) }
        let input = inputs[0]
        func requireRank(_ rank: Int) throws {
            guard input.count == rank else {
                throw refuse("expects input of rank \(rank + 1) (batch included), got rank \(input.count + 1)")
            }
        }
        if case .merge = self {} else if case .concatenate = self {} else if case .dot = self {} else if inputs.count != 1 {
            throw refuse("takes one input, got \(inputs.count)")
        }
        switch self {
        case let .embedding(_, outputDim, _):
            try requireRank(1)
            return [input + [outputDim]]
        case .lstm, .gru, .simpleRNN, .bidirectional, .bidirectionalRNN:
            try requireRank(2)
            let directions = recurrentDirections!
            var width = directions[0].units
            if case let .bidirectional(_, _, merge) = self, merge == .concat { width += directions[1].units }
            if case let .bidirectionalRNN(_, _, merge) = self, merge == .concat { width += directions[1].units }
            let output: [Int?] = directions[0].returnSequences ? [input[0], width] : [width]
            return [output] + Array(repeating: [directions[0].units], count: outputCount - 1)
        case let .dense(_, _, _, timeDistributed) where input.isEmpty || (timeDistributed && input.count < 2):
            throw refuse("needs a feature axis")
        case let .dense(units, _, _, _):
            return [input.dropLast() + [units]]
        case .dropout, .masking, .activation, .layerNormalization, .batchNormalization:
            return [input]
        case .flatten:
            let known = input.compactMap { $0 }
            return [[known.count == input.count ? known.reduce(1, *) : nil]]
        case let .conv1D(options):
            try requireRank(2)
            let span = options.dilationRate * (options.kernelSize - 1) + 1
            let steps = input[0].map { options.padding == .valid ? ($0 - span) / options.strides + 1 : ($0 + options.strides - 1) / options.strides }
            if let steps, steps < 1 { throw refuse("its \(input[0]!) input steps are fewer than the kernel spans (\(span))") }
            return [[steps, options.filters]]
        case let .pooling1D(options):
            try requireRank(2)
            let steps = input[0].map { options.samePadding ? ($0 + options.strides - 1) / options.strides : ($0 - options.poolSize) / options.strides + 1 }
            if let steps, steps < 1 { throw refuse("its \(input[0]!) input steps are fewer than the pool size \(options.poolSize)") }
            return [[steps, input[1]]]
        case .globalPooling1D:
            try requireRank(2)
            return [[input[1]]]
        case .merge:
            guard inputs.count >= 2, inputs.allSatisfy({ $0 == input }) else {
                throw refuse("merges tensors of one shape, got \(inputs.map { Network.describe([nil] + $0) }.joined(separator: ", "))")
            }
            return [input]
        case let .concatenate(axis, _):
            let resolved = axis < 0 ? axis + input.count + 1 : axis
            guard inputs.count >= 2, resolved >= 1, resolved <= input.count,
                  inputs.allSatisfy({ $0.count == input.count && $0.enumerated().allSatisfy { $0.offset == resolved - 1 || $0.element == input[$0.offset] } }) else {
                throw refuse("cannot concatenate \(inputs.map { Network.describe([nil] + $0) }.joined(separator: ", ")) on axis \(axis)")
            }
            var output = input
            let sizes = inputs.map { $0[resolved - 1] }
            output[resolved - 1] = sizes.contains(nil) ? nil : sizes.reduce(0) { $0 + $1! }
            return [output]
        case let .dot(axes, _):
            guard inputs.count == 2, inputs.allSatisfy({ (1...2).contains($0.count) }) else {
                throw refuse("Dot takes two inputs of rank 2 or 3, got \(inputs.map { Network.describe([nil] + $0) }.joined(separator: ", "))")
            }
            let resolved = zip(axes, inputs).map { $0 < 0 ? $0 + $1.count + 1 : $0 }
            guard zip(resolved, inputs).allSatisfy({ $0 >= 1 && $0 <= $1.count }), inputs[0][resolved[0] - 1] == inputs[1][resolved[1] - 1] else {
                throw refuse("Dot axes \(axes) do not pair equal axes of \(inputs.map { Network.describe([nil] + $0) }.joined(separator: ", "))")
            }
            var output = inputs[0], other = inputs[1]
            output.remove(at: resolved[0] - 1)
            other.remove(at: resolved[1] - 1)
            return [output + other == [] ? [1] : output + other]
        case let .repeatVector(count):
            try requireRank(1)
            return [[count, input[0]]]
        case let .reshape(shape):
            let known = input.compactMap { $0 }
            guard known.count == input.count else { throw refuse("Reshape needs an input of known size, got \(Network.describe([nil] + input))") }
            let total = known.reduce(1, *), fixed = shape.filter { $0 != -1 }.reduce(1, *)
            let free = shape.filter { $0 == -1 }.count
            guard free <= 1, fixed > 0, free == 1 ? total % fixed == 0 : total == fixed else {
                throw refuse("cannot reshape \(Network.describe([nil] + input)) to \(shape)")
            }
            return [shape.map { $0 == -1 ? total / fixed : $0 }]
        case let .permute(dims):
            guard dims.sorted() == Array(1...input.count) else { throw refuse("Permute dims \(dims) do not permute \(input.count) axes") }
            return [dims.map { input[$0 - 1] }]
        }
    }
}
