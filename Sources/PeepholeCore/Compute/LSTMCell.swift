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
    /// `[inputWidth, 4·units]`, gate blocks in Keras order i f c o.
    let kernel: [Float]
    /// `[units, 4·units]`, gate blocks in Keras order i f c o.
    let recurrentKernel: [Float]
    /// `[4·units]`; zeros for a layer without bias.
    let bias: [Float]

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

        // z[step, row, :] = bias + x · kernel for every step at once, in processed order.
        var z = projectInputs(input)
        var h = initial?.h.data ?? [Float](repeating: 0, count: batch * units)
        var c = initial?.c.data ?? [Float](repeating: 0, count: batch * units)
        var previousOutput = [Float](repeating: 0, count: batch * units)
        var sequence = [Float](repeating: 0, count: options.returnSequences ? batch * steps * units : 0)
        // One row's four gates after their activations: the only scratch of the step loop.
        var activated = [Float](repeating: 0, count: gates)

        z.withUnsafeMutableBufferPointer { zBuffer in
            activated.withUnsafeMutableBufferPointer { gateBuffer in
                let gate = gateBuffer.baseAddress!
                for step in 0..<steps {
                    let zStep = zBuffer.baseAddress! + step * batch * gates
                    // z_t += h_{t-1} · recurrent_kernel: one GEMM per step (a GEMV for one sequence).
                    if batch == 1 {
                        BLAS.vectorTimesMatrix(m: units, n: gates, x: h, a: recurrentKernel, lda: gates, beta: 1, y: zStep)
                    } else {
                        BLAS.sgemm(.none, .none, m: batch, n: gates, k: units,
                                   a: h, lda: units, b: recurrentKernel, ldb: gates, beta: 1, c: zStep, ldc: gates)
                    }
                    let sourceStep = options.goBackwards ? steps - 1 - step : step
                    for row in 0..<batch {
                        let state = row * units
                        let zRow = zStep + row * gates
                        let kept = mask?[row * steps + sourceStep] ?? true
                        if kept {
                            gate.update(from: zRow, count: gates)
                            VectorMath.apply(options.recurrentActivation, gate, count: 2 * units)
                            VectorMath.apply(options.activation, gate + 2 * units, count: units)
                            VectorMath.apply(options.recurrentActivation, gate + 3 * units, count: units)
                            h.withUnsafeMutableBufferPointer { hBuffer in
                                c.withUnsafeMutableBufferPointer { cBuffer in
                                    VectorMath.cellUpdate(gates: gate, c: cBuffer.baseAddress! + state, h: hBuffer.baseAddress! + state,
                                                          units: units, activation: options.activation)
                                }
                            }
                            for unit in 0..<units { previousOutput[state + unit] = h[state + unit] }
                        } else if options.zeroOutputForMask {
                            for unit in 0..<units { previousOutput[state + unit] = 0 }
                        }
                        trace?.record(step: step, row: row, kept: kept, z: zRow, gates: gate,
                                      h: h[state..<(state + units)], c: c[state..<(state + units)], width: units)
                        if options.returnSequences {
                            let to = (row * steps + step) * units
                            for unit in 0..<units { sequence[to + unit] = previousOutput[state + unit] }
                        }
                    }
                }
            }
        }
        let output = options.returnSequences
            ? Tensor(shape: [batch, steps, units], data: sequence)
            : Tensor(shape: [batch, units], data: previousOutput)
        return Result(output: output, state: LSTMState(h: Tensor(shape: [batch, units], data: h), c: Tensor(shape: [batch, units], data: c)))
    }

    /// `bias + x · kernel` for every step of every row, time-major in processed order.
    /// One-hot rows (a single 1, zeros elsewhere; what character models are fed) select one
    /// kernel row each, so they are gathered instead of multiplied; other inputs take one GEMM.
    private func projectInputs(_ input: Tensor) -> [Float] {
        let batch = input.shape[0], steps = input.shape[1], gates = 4 * options.units
        func sourceRow(_ step: Int, _ row: Int) -> Int {
            row * steps + (options.goBackwards ? steps - 1 - step : step)
        }
        var z = [Float](repeating: 0, count: steps * batch * gates)
        if let hot = Self.oneHotIndices(input.data, width: inputWidth) {
            z.withUnsafeMutableBufferPointer { z in
                kernel.withUnsafeBufferPointer { kernel in
                    bias.withUnsafeBufferPointer { bias in
                        for step in 0..<steps {
                            for row in 0..<batch {
                                VectorMath.add(bias.baseAddress!, kernel.baseAddress! + hot[sourceRow(step, row)] * gates,
                                               into: z.baseAddress! + (step * batch + row) * gates, count: gates)
                            }
                        }
                    }
                }
            }
            return z
        }
        var timeMajor = [Float](repeating: 0, count: steps * batch * inputWidth)
        input.data.withUnsafeBufferPointer { source in
            for step in 0..<steps {
                for row in 0..<batch {
                    let from = sourceRow(step, row) * inputWidth, to = (step * batch + row) * inputWidth
                    for feature in 0..<inputWidth { timeMajor[to + feature] = source[from + feature] }
                }
            }
        }
        for offset in stride(from: 0, to: z.count, by: gates) {
            for gate in 0..<gates { z[offset + gate] = bias[gate] }
        }
        BLAS.sgemm(.none, .none, m: steps * batch, n: gates, k: inputWidth,
                   a: timeMajor, lda: inputWidth, b: kernel, ldb: gates, beta: 1, c: &z, ldc: gates)
        return z
    }

    /// The index of the 1 in each row, when every row of `data` is one-hot; nil otherwise.
    static func oneHotIndices(_ data: [Float], width: Int) -> [Int]? {
        guard width > 0 else { return nil }
        let rows = data.count / width
        var indices = [Int](repeating: 0, count: rows)
        return data.withUnsafeBufferPointer { values -> [Int]? in
            for row in 0..<rows {
                var hot = -1
                for feature in 0..<width where values[row * width + feature] != 0 {
                    guard hot < 0, values[row * width + feature] == 1 else { return nil }
                    hot = feature
                }
                guard hot >= 0 else { return nil }
                indices[row] = hot
            }
            return indices
        }
    }
}
