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
