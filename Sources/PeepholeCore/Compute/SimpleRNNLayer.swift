/// One direction of a SimpleRNN layer with its weights, ready to run over a whole sequence.
///
///     h_t = activation(x_t·W + b + h_{t-1}·U)
///
/// Keras stores W `[input, units]`, U `[units, units]` and b `[units]`. A masked step keeps `h`.
struct SimpleRNNLayer: Sendable {
    let options: SimpleRNNOptions
    /// W `[inputWidth, units]` and b `[units]`.
    let input: InputProjection
    /// U `[units, units]`, packed for the matrix kernel.
    let recurrentKernel: PackedMatrix

    init(options: SimpleRNNOptions, inputWidth: Int, kernel: [Float], recurrentKernel: [Float], bias: [Float]?) {
        self.options = options
        input = InputProjection(kernel: kernel, inputWidth: inputWidth, width: options.units,
                                bias: bias ?? [Float](repeating: 0, count: options.units))
        self.recurrentKernel = PackedMatrix(recurrentKernel, rows: options.units, columns: options.units)
    }
}

extension SimpleRNNLayer: RecurrentDirection {
    var units: Int { options.units }
    var returnSequences: Bool { options.returnSequences }
    var goBackwards: Bool { options.goBackwards }
    var traceLayout: TraceRecorder.Layout { .simpleRNN }
    var cellActivation: Activation? { nil }

    func run(_ input: Tensor, mask: [Bool]?, initial: [Tensor]?, trace: TraceRecorder?) -> (output: Tensor, states: [Tensor]) {
        let batch = input.shape[0], steps = input.shape[1], units = options.units
        precondition(input.shape.count == 3 && input.shape[2] == self.input.inputWidth, "SimpleRNN input shape \(input.shape)")
        let hot = Kernels.oneHotIndices(input.data, width: self.input.inputWidth)
        let loop = RecurrentLoop(units: units, returnSequences: options.returnSequences, goBackwards: options.goBackwards,
                                 zeroOutputForMask: options.zeroOutputForMask)
        var h = initial?[0].data ?? [Float](repeating: 0, count: batch * units)
        let output = withScratch([batch * units]) { scratch in
            let z = scratch[0]
            return input.data.withUnsafeBufferPointer { data in
                h.withUnsafeMutableBufferPointer { hBuffer in
                    let h = hBuffer.baseAddress!
                    return loop.run(batch: batch, steps: steps, mask: mask, h: h, step: { source, processed in
                        self.input.project(data.baseAddress!, hot: hot, sourceStep: source, steps: steps, batch: batch, into: z, ldz: units)
                        recurrentKernel.accumulate(h, lda: units, count: batch, into: z, ldc: units, reversePanels: processed % 2 == 1)
                    }, row: { row, processed, kept in
                        if kept {
                            (h + row * units).update(from: z + row * units, count: units)
                            Kernels.activateGate(options.activation, h + row * units, count: units)
                        }
                        trace?.record(step: processed, row: row, kept: kept, z: z + row * units, gates: h + row * units,
                                      h: h + row * units, c: nil, width: units)
                    })
                }
            }
        }
        return (output, [Tensor(shape: [batch, units], data: h)])
    }
}
