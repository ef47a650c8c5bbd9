/// The final hidden and cell state of one LSTM direction, each `[batch, units]`.
public struct LSTMState: Sendable, Equatable {
    /// Hidden state `h`.
    public var h: Tensor
    /// Cell state `c`.
    public var c: Tensor
}

/// One direction of an LSTM with its weights, ready to run.
struct LSTMCell: Sendable {
    let options: LSTMOptions
    let inputWidth: Int
    /// `[inputWidth, 4·units]`, gate blocks in Keras order i f c o; rows are gathered for one-hot inputs.
    let kernel: [Float]
    /// `kernel` packed for the matrix kernel, for dense inputs.
    let packedKernel: PackedMatrix
    /// `[units, 4·units]`, gate blocks in Keras order i f c o, packed for the matrix kernel.
    let recurrentKernel: PackedMatrix
    /// `[4·units]`; zeros for a layer without bias.
    let bias: [Float]

    init(options: LSTMOptions, inputWidth: Int, kernel: [Float], recurrentKernel: [Float], bias: [Float]) {
        self.options = options
        self.inputWidth = inputWidth
        self.kernel = kernel
        self.packedKernel = PackedMatrix(kernel, rows: inputWidth, columns: 4 * options.units)
        self.recurrentKernel = PackedMatrix(recurrentKernel, rows: options.units, columns: 4 * options.units)
        self.bias = bias
    }

    /// What one run produces: the layer output (`[batch, steps, units]` in processed order with
    /// `returnSequences`, else `[batch, units]`) and the final state.
    struct Result {
        var output: Tensor
        var state: LSTMState
    }

    /// Runs the LSTM over `input` `[batch, steps, inputWidth]`.
    ///
    /// `mask` (`[batch·steps]`, batch-major, true where a step counts) makes masked steps keep the
    /// previous state and output the previous output (or zeros with `zeroOutputForMask`), as Keras
    /// does. `initial` is the starting state (zeros when nil).
    /// `trace`, when given, records the steps and units it was made for.
    func run(_ input: Tensor, mask: [Bool]?, initial: LSTMState? = nil, trace: LSTMTraceRecorder? = nil) -> Result {
        let batch = input.shape[0], steps = input.shape[1], units = options.units, gates = 4 * units
        precondition(input.shape.count == 3 && input.shape[2] == inputWidth, "LSTM input shape \(input.shape)")

        let hot = Kernels.oneHotIndices(input.data, width: inputWidth)
        let fused = options.recurrentActivation == .sigmoid && options.activation == .tanh
        var h = initial?.h.data ?? [Float](repeating: 0, count: batch * units)
        var c = initial?.c.data ?? [Float](repeating: 0, count: batch * units)
        var output = [Float](repeating: 0, count: batch * units)
        var sequence = [Float](repeating: 0, count: options.returnSequences ? batch * steps * units : 0)
        // The only scratch of the step loop: one step's pre-activations for the whole batch,
        // `[batch, 4·units]`, then one row's four gates after their activations, `[4·units]`.
        var scratch = [Float](repeating: 0, count: (batch + 1) * gates)

        withPointers(input.data, &scratch, &h, &c, &output, &sequence) { x, zStep, h, c, output, sequence in
            let gate = zStep + batch * gates
            for step in 0..<steps {
                let sourceStep = options.goBackwards ? steps - 1 - step : step
                // z_t = bias + x_t · kernel + h_{t-1} · recurrent_kernel, for the whole batch.
                project(x, hot: hot, sourceStep: sourceStep, steps: steps, batch: batch, into: zStep)
                // Alternating the panel order keeps the panels of the last step in the L1 cache.
                recurrentKernel.accumulate(h, lda: units, count: batch, into: zStep, ldc: gates, reversePanels: step % 2 == 1)
                for row in 0..<batch {
                    let state = row * units, zRow = zStep + row * gates
                    let kept = mask?[row * steps + sourceStep] ?? true
                    if kept {
                        if fused {
                            Kernels.lstmCell(z: zRow, gates: gate, c: c + state, h: h + state, units: units)
                        } else {
                            gate.update(from: zRow, count: gates)
                            VectorMath.apply(options.recurrentActivation, gate, count: 2 * units)
                            VectorMath.apply(options.activation, gate + 2 * units, count: units)
                            VectorMath.apply(options.recurrentActivation, gate + 3 * units, count: units)
                            VectorMath.cellUpdate(gates: gate, c: c + state, h: h + state, units: units, activation: options.activation)
                        }
                        (output + state).update(from: h + state, count: units)
                    } else if options.zeroOutputForMask {
                        (output + state).update(repeating: 0, count: units)
                    }
                    trace?.record(step: step, row: row, kept: kept, z: zRow, gates: gate, h: h + state, c: c + state, width: units)
                    if options.returnSequences {
                        (sequence + (row * steps + step) * units).update(from: output + state, count: units)
                    }
                }
            }
        }
        let result = options.returnSequences
            ? Tensor(shape: [batch, steps, units], data: sequence)
            : Tensor(shape: [batch, units], data: output)
        return Result(output: result, state: LSTMState(h: Tensor(shape: [batch, units], data: h), c: Tensor(shape: [batch, units], data: c)))
    }

    /// `z[row, :] = bias + x[row, sourceStep, :] · kernel` for every row of one step.
    /// One-hot rows (a single 1, zeros elsewhere; what character models are fed) select one
    /// kernel row each (`hot`, per row and source step), so they are gathered, not multiplied.
    private func project(_ input: UnsafePointer<Float>, hot: [Int]?, sourceStep: Int, steps: Int, batch: Int, into z: UnsafeMutablePointer<Float>) {
        let gates = 4 * options.units
        bias.withUnsafeBufferPointer { bias in
            if let hot {
                // bias + kernel[hot]: the value the matrix kernel computes for a one-hot row.
                kernel.withUnsafeBufferPointer { kernel in
                    for row in 0..<batch {
                        VectorMath.add(bias.baseAddress!, kernel.baseAddress! + hot[row * steps + sourceStep] * gates,
                                       into: z + row * gates, count: gates)
                    }
                }
            } else {
                for row in 0..<batch { (z + row * gates).update(from: bias.baseAddress!, count: gates) }
                // Row r's input at this step is `steps · inputWidth` floats after row r-1's.
                packedKernel.accumulate(input + sourceStep * inputWidth, lda: steps * inputWidth, count: batch, into: z, ldc: gates)
            }
        }
    }

    /// Calls `body` with the base addresses of the step loop's buffers.
    private func withPointers(
        _ input: [Float], _ scratch: inout [Float], _ h: inout [Float], _ c: inout [Float], _ output: inout [Float], _ sequence: inout [Float],
        _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                 UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) {
        input.withUnsafeBufferPointer { x in
            scratch.withUnsafeMutableBufferPointer { z in
                h.withUnsafeMutableBufferPointer { h in
                    c.withUnsafeMutableBufferPointer { c in
                        output.withUnsafeMutableBufferPointer { o in
                            sequence.withUnsafeMutableBufferPointer { s in
                                // An empty array's base address may be nil; the loop never touches it then.
                                body(x.baseAddress!, z.baseAddress!, h.baseAddress!, c.baseAddress!, o.baseAddress!,
                                     s.baseAddress ?? UnsafeMutablePointer(mutating: z.baseAddress!))
                            }
                        }
                    }
                }
            }
        }
    }
}
