/// The input half of a recurrent layer's pre-activations, `bias + x_t · kernel`, one step at a time.
///
/// Projected per step rather than for the whole sequence up front: one step's `[batch, gates]`
/// block stays in the L1 cache between this product, the recurrent product added to it and the
/// cell update that reads it, which measured faster than a sequence-long buffer at the sizes
/// Peephole serves (and needs no `[batch, steps, gates]` scratch).
struct InputProjection: Sendable {
    /// The feature width of the input.
    let inputWidth: Int
    /// The width of the projection: gates × units.
    let width: Int
    /// `[inputWidth, width]`, row-major; its rows are gathered for one-hot inputs.
    let kernel: [Float]
    /// `kernel` packed for the matrix kernel, for dense inputs.
    let packedKernel: PackedMatrix
    /// `[width]`; zeros for a layer without bias.
    let bias: [Float]

    init(kernel: [Float], inputWidth: Int, width: Int, bias: [Float]) {
        self.inputWidth = inputWidth
        self.width = width
        self.kernel = kernel
        self.packedKernel = PackedMatrix(kernel, rows: inputWidth, columns: width)
        self.bias = bias
    }

    /// `z[row, :] = bias + x[row, sourceStep, :] · kernel` for every row of one step; `z` has
    /// leading dimension `ldz`. One-hot rows (a single 1, zeros elsewhere; what character models
    /// are fed) select one kernel row each (`hot`, per row and source step), so they are gathered,
    /// not multiplied: `bias + kernel[hot]` is the value the matrix kernel computes for them.
    func project(_ input: UnsafePointer<Float>, hot: [Int]?, sourceStep: Int, steps: Int, batch: Int,
                 into z: UnsafeMutablePointer<Float>, ldz: Int) {
        bias.withUnsafeBufferPointer { bias in
            if let hot {
                kernel.withUnsafeBufferPointer { kernel in
                    for row in 0..<batch {
                        Kernels.add(bias.baseAddress!, kernel.baseAddress! + hot[row * steps + sourceStep] * width,
                                    into: z + row * ldz, count: width)
                    }
                }
            } else {
                for row in 0..<batch { (z + row * ldz).update(from: bias.baseAddress!, count: width) }
                // Row r's input at this step is `steps · inputWidth` floats after row r-1's.
                packedKernel.accumulate(input + sourceStep * inputWidth, lda: steps * inputWidth, count: batch, into: z, ldc: ldz)
            }
        }
    }
}

/// Calls `body` with zeroed buffers of `sizes` floats, carved from one allocation freed on return:
/// the scratch of a recurrent layer's time loop, so the loop itself allocates nothing.
func withScratch<R>(_ sizes: [Int], _ body: ([UnsafeMutablePointer<Float>]) -> R) -> R {
    let total = max(1, sizes.reduce(0, +))
    let base = UnsafeMutablePointer<Float>.allocate(capacity: total)
    base.initialize(repeating: 0, count: total)
    defer { base.deallocate() }
    var offset = 0
    let pointers = sizes.map { size in
        defer { offset += size }
        return base + offset
    }
    return body(pointers)
}
