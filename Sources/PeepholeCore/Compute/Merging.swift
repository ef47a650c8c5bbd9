/// The layers that combine, repeat or rearrange tensors without weights, and the mask operations.
enum Merging {
    /// An element-wise merge of tensors of one shape, left to right.
    static func merge(_ inputs: [Tensor], _ operation: MergeOperation) -> Tensor {
        var output = inputs[0]
        for other in inputs.dropFirst() {
            for index in output.data.indices {
                let (a, b) = (output.data[index], other.data[index])
                output.data[index] = switch operation {
                case .add, .average: a + b
                case .subtract: a - b
                case .multiply: a * b
                case .maximum: max(a, b)
                case .minimum: min(a, b)
                }
            }
        }
        if operation == .average {
            let count = Float(inputs.count)
            for index in output.data.indices { output.data[index] /= count }
        }
        return output
    }

    /// The mask of an element-wise merge: Keras 3 ORs the inputs' masks when every input has one
    /// (else none); tf-keras ANDs the masks there are.
    static func mergeMask(_ masks: [[Bool]?], _ combination: MaskCombination) -> [Bool]? {
        let present = masks.compactMap { $0 }
        guard let first = present.first, combination == .all || present.count == masks.count else { return nil }
        return present.dropFirst().reduce(first) { result, mask in
            zip(result, mask).map { combination == .any ? $0 || $1 : $0 && $1 }
        }
    }

    /// `inputs` joined along `axis` (≥ 1, counted with the batch axis).
    static func concatenate(_ inputs: [Tensor], axis: Int) -> Tensor {
        let shape = inputs[0].shape, outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        var data: [Float] = []
        data.reserveCapacity(inputs.reduce(0) { $0 + $1.data.count })
        for block in 0..<outer {
            for input in inputs {
                let size = input.shape[axis] * inner
                data.append(contentsOf: input.data[(block * size)..<((block + 1) * size)])
            }
        }
        var output = shape
        output[axis] = inputs.reduce(0) { $0 + $1.shape[axis] }
        return Tensor(shape: output, data: data)
    }

    /// The mask of a concatenation of `[batch, steps, …]` tensors (an input without a mask keeps
    /// every step): on the feature axis, a step is kept when any (Keras 3) or every (tf-keras)
    /// input keeps it; on the steps axis, the masks are joined.
    static func concatenateMask(_ inputs: [Tensor], _ masks: [[Bool]?], axis: Int, _ combination: MaskCombination) -> [Bool]? {
        guard masks.contains(where: { $0 != nil }), inputs.allSatisfy({ $0.shape.count == 3 }) else { return nil }
        let batch = inputs[0].shape[0]
        let full = zip(inputs, masks).map { input, mask in mask ?? [Bool](repeating: true, count: batch * input.shape[1]) }
        if axis == 1 {
            return (0..<batch).flatMap { row in zip(inputs, full).flatMap { input, mask in mask[(row * input.shape[1])..<((row + 1) * input.shape[1])] } }
        }
        return full.dropFirst().reduce(full[0]) { result, mask in zip(result, mask).map { combination == .any ? $0 || $1 : $0 && $1 } }
    }

    /// Keras' batched dot product of `x` and `y` (rank 2 or 3) along `axes` (with the batch axis,
    /// negative from the end): `x` as `[batch, m, k]` times `y` as `[batch, k, n]`, each scaled
    /// first to unit length along its axis with `normalize` (`x · min(1/‖x‖, 1e7)`, Keras 3's rule).
    static func dot(_ x: Tensor, _ y: Tensor, axes: [Int], normalize: Bool) -> Tensor {
        let axes = zip(axes, [x, y]).map { $0 < 0 ? $0 + $1.shape.count : $0 }
        // x with its contracted axis last, y with its contracted axis first (after the batch).
        var left = x.shape.count == 3 && axes[0] == 1 ? permute(x, dims: [2, 1]) : x
        var right = y.shape.count == 3 && axes[1] == 2 ? permute(y, dims: [2, 1]) : y
        let batch = x.shape[0], k = left.lastDimension
        let m = left.data.count / (batch * k), n = right.data.count / (batch * k)
        if normalize {
            left = scaledToUnitLength(left, vectors: batch * m, length: k, stride: 1, spacing: k)
            right = scaledToUnitLength(right, vectors: batch * n, length: k, stride: n, spacing: 1, blocks: (n, k * n))
        }
        var data = [Float](repeating: 0, count: batch * m * n)
        for row in 0..<batch {
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for t in 0..<k { sum += left.data[(row * m + i) * k + t] * right.data[(row * k + t) * n + j] }
                    data[(row * m + i) * n + j] = sum
                }
            }
        }
        let shape = [batch] + (x.shape.count == 3 ? [m] : []) + (y.shape.count == 3 ? [n] : [])
        return Tensor(shape: shape.count == 1 ? [batch, 1] : shape, data: data)
    }

    /// `tensor` with each of its `vectors` vectors (`length` values `stride` apart; vector `v`
    /// starts at `(v / blocks.count)·blocks.size + (v % blocks.count)`, or `v · spacing`) scaled
    /// to unit length as Keras' `normalize` does.
    private static func scaledToUnitLength(_ tensor: Tensor, vectors: Int, length: Int, stride: Int, spacing: Int,
                                           blocks: (count: Int, size: Int)? = nil) -> Tensor {
        var output = tensor
        for vector in 0..<vectors {
            let start = blocks.map { (vector / $0.count) * $0.size + vector % $0.count } ?? vector * spacing
            let sum = (0..<length).reduce(Float(0)) { $0 + tensor.data[start + $1 * stride] * tensor.data[start + $1 * stride] }
            let scale = min(1 / sum.squareRoot(), 1e7)
            for t in 0..<length { output.data[start + t * stride] *= scale }
        }
        return output
    }

    /// `[batch, features]` → `[batch, count, features]`.
    static func repeatVector(_ input: Tensor, count: Int) -> Tensor {
        let width = input.lastDimension
        var data: [Float] = []
        data.reserveCapacity(input.data.count * count)
        for row in 0..<input.shape[0] {
            for _ in 0..<count { data.append(contentsOf: input.data[(row * width)..<((row + 1) * width)]) }
        }
        return Tensor(shape: [input.shape[0], count, width], data: data)
    }

    /// The axes after the batch permuted: output axis `i` is input axis `dims[i]` (from 1).
    static func permute(_ input: Tensor, dims: [Int]) -> Tensor {
        let axes = [0] + dims, shape = axes.map { input.shape[$0] }
        var strides = [Int](repeating: 1, count: input.shape.count)
        for axis in stride(from: input.shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * input.shape[axis + 1] }
        var data = [Float](repeating: 0, count: input.data.count)
        var index = [Int](repeating: 0, count: shape.count)
        for position in data.indices {
            data[position] = input.data[zip(axes, index).reduce(0) { $0 + strides[$1.0] * $1.1 }]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return Tensor(shape: shape, data: data)
    }

    /// A Keras 3 mask operation on `input`: `x != value` as 0 or 1, or whether any value on the
    /// last axis is non-zero.
    static func maskOperation(_ kind: MaskOperation.Kind, _ input: Tensor) -> Tensor {
        switch kind {
        case let .notEqual(value):
            return Tensor(shape: input.shape, data: input.data.map { $0 != value ? 1 : 0 })
        case .anyLastAxis:
            let width = input.lastDimension
            let data = (0..<input.rows).map { row in (0..<width).contains { input.data[row * width + $0] != 0 } ? Float(1) : 0 }
            return Tensor(shape: Array(input.shape.dropLast()), data: data)
        }
    }
}
