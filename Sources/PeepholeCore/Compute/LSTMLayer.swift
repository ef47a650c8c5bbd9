/// The final hidden and cell state of one LSTM direction, each `[batch, units]`.
struct LSTMState: Sendable, Equatable {
    /// Hidden state `h`.
    var h: Tensor
    /// Cell state `c`.
    var c: Tensor
}

/// One direction of an LSTM layer with its weights, ready to run over a whole sequence.
///
///     z_t = x_t·W + b + h_{t-1}·U          gate blocks in Keras order i f g o (`units` each)
///     i, f, o = recurrent_activation(z_i, z_f, z_o);  g = activation(z_g)
///     c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ activation(c_t)
///
/// Keras stores W `[input, 4·units]`, U `[units, 4·units]` and b `[4·units]` in that gate order,
/// which is the order used here: no conversion. A masked step keeps `h` and `c`.
struct LSTMLayer: Sendable {
    let options: LSTMOptions
    /// W `[inputWidth, 4·units]` and b `[4·units]` (zeros without bias), gate order i f g o.
    let input: InputProjection
    /// U `[units, 4·units]`, gate order i f g o, packed for the matrix kernel.
    let recurrentKernel: PackedMatrix

    var inputWidth: Int { input.inputWidth }
    var kernel: [Float] { input.kernel }
    var bias: [Float] { input.bias }

    init(options: LSTMOptions, inputWidth: Int, kernel: [Float], recurrentKernel: [Float], bias: [Float]) {
        self.options = options
        self.input = InputProjection(kernel: kernel, inputWidth: inputWidth, width: 4 * options.units, bias: bias)
        self.recurrentKernel = PackedMatrix(recurrentKernel, rows: options.units, columns: 4 * options.units)
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
    /// `trace`, when given, clamps the states and records the steps and units it was made for.
    func run(_ input: Tensor, mask: [Bool]?, initial: LSTMState? = nil, trace: TraceRecorder? = nil) -> Result {
        let batch = input.shape[0], steps = input.shape[1], units = options.units, gates = 4 * units
        precondition(input.shape.count == 3 && input.shape[2] == inputWidth, "LSTM input shape \(input.shape)")

        let hot = Kernels.oneHotIndices(input.data, width: inputWidth)
        let projection = self.input  // once, not at every step inside the closure
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
                projection.project(x, hot: hot, sourceStep: sourceStep, steps: steps, batch: batch, into: zStep, ldz: gates)
                // Alternating the panel order keeps the panels of the last step in the L1 cache.
                recurrentKernel.accumulate(h, lda: units, count: batch, into: zStep, ldc: gates, reversePanels: step % 2 == 1)
                for row in 0..<batch {
                    let state = row * units, zRow = zStep + row * gates
                    let kept = mask?[row * steps + sourceStep] ?? true
                    if kept {
                        if fused {
                            Kernels.lstmCell(z: zRow, gates: gate, c: c + state, h: h + state, units: units)
                        } else {
                            Kernels.lstmCell(z: zRow, gates: gate, c: c + state, h: h + state, units: units,
                                             activation: options.activation, recurrentActivation: options.recurrentActivation)
                        }
                    }
                    // Clamps (interventions) change the state before the step's output is taken.
                    trace?.record(step: step, row: row, kept: kept, z: zRow, gates: gate, h: h + state, c: c + state, width: units)
                    if kept {
                        (output + state).update(from: h + state, count: units)
                    } else if options.zeroOutputForMask {
                        (output + state).update(repeating: 0, count: units)
                    }
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

extension LSTMLayer: RecurrentDirection {
    var units: Int { options.units }
    var returnSequences: Bool { options.returnSequences }
    var goBackwards: Bool { options.goBackwards }
    var traceLayout: TraceRecorder.Layout { .lstm }
    var cellActivation: Activation? { options.activation }

    func run(_ input: Tensor, mask: [Bool]?, initial: [Tensor]?, trace: TraceRecorder?) -> (output: Tensor, states: [Tensor]) {
        let result = run(input, mask: mask, initial: initial.map { LSTMState(h: $0[0], c: $0[1]) }, trace: trace)
        return (result.output, [result.state.h, result.state.c])
    }
}
