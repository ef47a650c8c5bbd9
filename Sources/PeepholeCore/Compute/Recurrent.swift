/// One direction of a recurrent layer (LSTM, GRU, SimpleRNN): what a Bidirectional wrapper and
/// the graph walk need to run it.
protocol RecurrentDirection: Sendable {
    /// The width of the hidden state.
    var units: Int { get }
    /// Whether the output is every step's output (in processed order) or only the last.
    var returnSequences: Bool { get }
    /// Whether the sequence is processed last step first.
    var goBackwards: Bool { get }
    /// The gates the kind records in a trace.
    var traceLayout: TraceRecorder.Layout { get }
    /// An LSTM's cell activation (`h = o·activation(c)`); nil for the kinds without a cell.
    var cellActivation: Activation? { get }

    /// Runs over `input` `[batch, steps, inputWidth]` from `initial` states (zeros when nil; LSTM
    /// `[h, c]`, the others `[h]`), each `[batch, units]`. A step whose `mask` entry (`[batch·steps]`,
    /// batch-major) is false keeps the state and outputs the previous output (zeros with
    /// `zero_output_for_mask`). Returns the output and the final states in the same order.
    func run(_ input: Tensor, mask: [Bool]?, initial: [Tensor]?, trace: TraceRecorder?) -> (output: Tensor, states: [Tensor])
}

extension RecurrentDirection {
    /// A recorder for this direction's run over `input`, when `options` asks for a trace or
    /// `clamps` for interventions.
    func recorder(_ options: TraceOptions?, clamps: [StateClamp], input: Tensor) -> TraceRecorder? {
        guard options != nil || !clamps.isEmpty else { return nil }
        return TraceRecorder(options: options, clamps: clamps, cellActivation: cellActivation, layout: traceLayout, batch: input.shape[0], stepCount: input.shape[1],
                             units: units, goBackwards: goBackwards)
    }
}

/// The options every recurrent kind shares, as a time loop reads them.
struct RecurrentLoop {
    let units: Int
    let returnSequences: Bool
    let goBackwards: Bool
    let zeroOutputForMask: Bool

    /// Runs `step(sourceStep, processedStep)` then, for every row, `row(row, kept)` over the
    /// sequence, handling the outputs: after a kept step a row outputs its `h`; after a masked
    /// step the previous output (or zeros with `zeroOutputForMask`). `h` is `[batch, units]`.
    /// Returns the output: `[batch, steps, units]` in processed order, or `[batch, units]`.
    func run(batch: Int, steps: Int, mask: [Bool]?, h: UnsafeMutablePointer<Float>,
             step: (_ sourceStep: Int, _ step: Int) -> Void, row: (_ row: Int, _ step: Int, _ kept: Bool) -> Void) -> Tensor {
        var output = [Float](repeating: 0, count: batch * units)
        var sequence = [Float](repeating: 0, count: returnSequences ? batch * steps * units : 0)
        output.withUnsafeMutableBufferPointer { output in
            sequence.withUnsafeMutableBufferPointer { sequence in
                for processed in 0..<steps {
                    let source = goBackwards ? steps - 1 - processed : processed
                    step(source, processed)
                    for r in 0..<batch {
                        let kept = mask?[r * steps + source] ?? true
                        row(r, processed, kept)
                        let out = output.baseAddress! + r * units
                        if kept {
                            out.update(from: h + r * units, count: units)
                        } else if zeroOutputForMask {
                            out.update(repeating: 0, count: units)
                        }
                        if returnSequences { (sequence.baseAddress! + (r * steps + processed) * units).update(from: out, count: units) }
                    }
                }
            }
        }
        return returnSequences ? Tensor(shape: [batch, steps, units], data: sequence) : Tensor(shape: [batch, units], data: output)
    }
}
