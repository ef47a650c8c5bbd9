/// A dense row-major float32 array with its shape; batch first where there is a batch.
public struct Tensor: Sendable, Equatable {
    /// The size of each axis, outermost first.
    public var shape: [Int]
    /// The values in row-major order; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// A tensor over `data`; the count must match the shape.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "tensor data does not match shape \(shape)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// The size of the last axis (the feature width).
    public var lastDimension: Int { shape.last ?? 1 }

    /// The number of rows when all axes but the last are flattened.
    public var rows: Int { lastDimension == 0 ? 0 : data.count / lastDimension }
}

extension Tensor {
    /// `parts` one after another along the batch axis: the input of one forward pass shared by
    /// several requests. Every part must have the same shape after the batch axis.
    public init(stacking parts: [Tensor]) {
        precondition(!parts.isEmpty, "nothing to stack")
        let item = parts[0].shape.dropFirst()
        precondition(parts.allSatisfy { $0.shape.dropFirst() == item }, "stacked tensors differ after the batch axis")
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.data.count })
        for part in parts { data.append(contentsOf: part.data) }
        self.init(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + item, data: data)
    }

    /// This tensor cut along the batch axis into consecutive parts of `sizes` rows each (the
    /// sizes add up to `shape[0]`): a shared forward pass's output handed back to its requests.
    public func split(batches sizes: [Int]) -> [Tensor] {
        precondition(sizes.reduce(0, +) == shape[0] && sizes.allSatisfy { $0 > 0 }, "batch sizes \(sizes) do not cut a batch of \(shape[0])")
        let perRow = data.count / shape[0]
        var start = 0
        return sizes.map { size in
            defer { start += size * perRow }
            return Tensor(shape: [size] + shape.dropFirst(), data: Array(data[start..<(start + size * perRow)]))
        }
    }
}
