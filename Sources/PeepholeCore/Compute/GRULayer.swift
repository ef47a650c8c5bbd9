/// One direction of a GRU layer with its weights, ready to run over a whole sequence.
///
///     x_z, x_r, x_h = x_t·W + b_in                       gate blocks in Keras order z r h
///     reset_after (Keras' default; U's product carries its own bias b_rec):
///       z = recurrent_activation(x_z + (h_{t-1}·U + b_rec)_z),  r likewise
///       hh = activation(x_h + r ⊙ (h_{t-1}·U + b_rec)_h)
///     reset_after = false:
///       z = recurrent_activation(x_z + h_{t-1}·U_z),  r likewise
///       hh = activation(x_h + (r ⊙ h_{t-1})·U_h)
///     h_t = z ⊙ h_{t-1} + (1 − z) ⊙ hh
///
/// Keras stores W `[input, 3·units]`, U `[units, 3·units]` and the bias `[2, 3·units]` (rows b_in,
/// b_rec) with `reset_after`, else `[3·units]`, all in the gate order used here. A masked step keeps `h`.
struct GRULayer: Sendable {
    let options: GRUOptions
    /// W `[inputWidth, 3·units]` and b_in `[3·units]`, gate order z r h.
    let input: InputProjection
    /// U `[units, 3·units]` (`reset_after`), or its z and r columns `[units, 2·units]`.
    let recurrentKernel: PackedMatrix
    /// U's h columns `[units, units]`, without `reset_after`: multiplied by `r ⊙ h`.
    let candidateKernel: PackedMatrix?
    /// b_rec `[3·units]` with `reset_after`, else empty.
    let recurrentBias: [Float]

    init(options: GRUOptions, inputWidth: Int, kernel: [Float], recurrentKernel: [Float], bias: [Float]?) {
        let units = options.units, width = 3 * units
        self.options = options
        let bias = bias ?? [Float](repeating: 0, count: (options.resetAfter ? 2 : 1) * width)
        input = InputProjection(kernel: kernel, inputWidth: inputWidth, width: width, bias: Array(bias[0..<width]))
        if options.resetAfter {
            self.recurrentKernel = PackedMatrix(recurrentKernel, rows: units, columns: width)
            candidateKernel = nil
            recurrentBias = Array(bias[width..<(2 * width)])
        } else {
            let rows = (0..<units).map { recurrentKernel[($0 * width)..<(($0 + 1) * width)] }
            self.recurrentKernel = PackedMatrix(rows.flatMap { $0.prefix(2 * units) }, rows: units, columns: 2 * units)
            candidateKernel = PackedMatrix(rows.flatMap { $0.suffix(units) }, rows: units, columns: units)
            recurrentBias = []
        }
    }
}

extension GRULayer: RecurrentDirection {
    var units: Int { options.units }
    var returnSequences: Bool { options.returnSequences }
    var goBackwards: Bool { options.goBackwards }
    var traceLayout: TraceRecorder.Layout { .gru }
    var cellActivation: Activation? { nil }

    func run(_ input: Tensor, mask: [Bool]?, initial: [Tensor]?, trace: TraceRecorder?) -> (output: Tensor, states: [Tensor]) {
        let batch = input.shape[0], steps = input.shape[1], units = options.units, width = 3 * units
        precondition(input.shape.count == 3 && input.shape[2] == self.input.inputWidth, "GRU input shape \(input.shape)")
        let hot = Kernels.oneHotIndices(input.data, width: self.input.inputWidth)
        let loop = RecurrentLoop(units: units, returnSequences: options.returnSequences, goBackwards: options.goBackwards,
                                 zeroOutputForMask: options.zeroOutputForMask)
        var h = initial?[0].data ?? [Float](repeating: 0, count: batch * units)
        let output = withScratch([batch * width, batch * width, batch * width, batch * units]) { scratch in
            // x: the input pre-activations [batch, 3·units]; recurrent: h·U (+ b_rec); gates: z r hh
            // per row; resetH: r ⊙ h per row (without reset_after).
            let (x, recurrent, gates, resetH) = (scratch[0], scratch[1], scratch[2], scratch[3])
            return input.data.withUnsafeBufferPointer { data in
                h.withUnsafeMutableBufferPointer { hBuffer in
                    let h = hBuffer.baseAddress!
                    return loop.run(batch: batch, steps: steps, mask: mask, h: h, step: { source, processed in
                        self.input.project(data.baseAddress!, hot: hot, sourceStep: source, steps: steps, batch: batch, into: x, ldz: width)
                        if options.resetAfter {
                            for row in 0..<batch { (recurrent + row * width).update(from: recurrentBias, count: width) }
                            recurrentKernel.accumulate(h, lda: units, count: batch, into: recurrent, ldc: width, reversePanels: processed % 2 == 1)
                        } else {
                            // The candidate's product needs r first: z and r for every row, then (r ⊙ h)·U_h.
                            recurrentKernel.accumulate(h, lda: units, count: batch, into: x, ldc: width, reversePanels: processed % 2 == 1)
                            for row in 0..<batch {
                                Kernels.gruGates(x: x + row * width, recurrent: nil, gates: gates + row * width, units: units,
                                                 recurrentActivation: options.recurrentActivation, h: h + row * units, resetH: resetH + row * units)
                            }
                            candidateKernel!.accumulate(resetH, lda: units, count: batch, into: x + 2 * units, ldc: width)
                        }
                    }, row: { row, processed, kept in
                        let xRow = x + row * width, gateRow = gates + row * width
                        if options.resetAfter {
                            Kernels.gruGates(x: xRow, recurrent: recurrent + row * width, gates: gateRow, units: units,
                                             recurrentActivation: options.recurrentActivation)
                        }
                        if kept {
                            Kernels.gruUpdate(xH: xRow + 2 * units, recurrentH: options.resetAfter ? recurrent + row * width + 2 * units : nil,
                                              gates: gateRow, h: h + row * units, units: units, activation: options.activation)
                        }
                        trace?.record(step: processed, row: row, kept: kept, z: xRow, gates: gateRow, h: h + row * units, c: nil, width: units)
                    })
                }
            }
        }
        return (output, [Tensor(shape: [batch, units], data: h)])
    }
}
