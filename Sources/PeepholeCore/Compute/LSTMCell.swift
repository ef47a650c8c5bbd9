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

        // Inputs in processed order, time-major, so that each step's projection is contiguous.
        var timeMajor = [Float](repeating: 0, count: steps * batch * inputWidth)
        input.data.withUnsafeBufferPointer { source in
            for step in 0..<steps {
                let sourceStep = options.goBackwards ? steps - 1 - step : step
                for row in 0..<batch {
                    let from = (row * steps + sourceStep) * inputWidth
                    let to = (step * batch + row) * inputWidth
                    for feature in 0..<inputWidth { timeMajor[to + feature] = source[from + feature] }
                }
            }
        }

        // z[step, row, :] = bias + x · kernel for every step at once: one GEMM.
        var z = [Float](repeating: 0, count: steps * batch * gates)
        for offset in stride(from: 0, to: z.count, by: gates) {
            for gate in 0..<gates { z[offset + gate] = bias[gate] }
        }
        BLAS.sgemm(.none, .none, m: steps * batch, n: gates, k: inputWidth,
                   a: timeMajor, lda: inputWidth, b: kernel, ldb: gates, beta: 1, c: &z, ldc: gates)

        var h = initial?.h.data ?? [Float](repeating: 0, count: batch * units)
        var c = initial?.c.data ?? [Float](repeating: 0, count: batch * units)
        var previousOutput = [Float](repeating: 0, count: batch * units)
        var sequence = [Float](repeating: 0, count: options.returnSequences ? batch * steps * units : 0)
        let activation = options.activation, recurrent = options.recurrentActivation

        z.withUnsafeMutableBufferPointer { zBuffer in
            for step in 0..<steps {
                let zStep = zBuffer.baseAddress! + step * batch * gates
                // z_t += h_{t-1} · recurrent_kernel: one GEMM per step.
                BLAS.sgemm(.none, .none, m: batch, n: gates, k: units,
                           a: h, lda: units, b: recurrentKernel, ldb: gates, beta: 1, c: zStep, ldc: gates)
                let sourceStep = options.goBackwards ? steps - 1 - step : step
                for row in 0..<batch {
                    let state = row * units
                    let kept = mask?[row * steps + sourceStep] ?? true
                    if kept {
                        let zRow = zStep + row * gates
                        for unit in 0..<units {
                            let inputGate = recurrent.scalar(zRow[unit])
                            let forgetGate = recurrent.scalar(zRow[units + unit])
                            let candidate = activation.scalar(zRow[2 * units + unit])
                            let outputGate = recurrent.scalar(zRow[3 * units + unit])
                            let cell = forgetGate * c[state + unit] + inputGate * candidate
                            c[state + unit] = cell
                            h[state + unit] = outputGate * activation.scalar(cell)
                            previousOutput[state + unit] = h[state + unit]
                        }
                    } else if options.zeroOutputForMask {
                        for unit in 0..<units { previousOutput[state + unit] = 0 }
                    }
                    trace?.record(step: step, row: row, kept: kept, z: zStep + row * gates,
                                  h: h[state..<(state + units)], c: c[state..<(state + units)], width: units)
                    if options.returnSequences {
                        let to = (row * steps + step) * units
                        for unit in 0..<units { sequence[to + unit] = previousOutput[state + unit] }
                    }
                }
            }
        }
        let output = options.returnSequences
            ? Tensor(shape: [batch, steps, units], data: sequence)
            : Tensor(shape: [batch, units], data: previousOutput)
        return Result(output: output, state: LSTMState(h: Tensor(shape: [batch, units], data: h), c: Tensor(shape: [batch, units], data: c)))
    }
}
