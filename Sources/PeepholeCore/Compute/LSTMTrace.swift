/// What to record of an LSTM layer's run, step by step (the introspection options of a request).
public struct TraceOptions: Sendable, Equatable {
    /// Record the hidden state after every step.
    public var sequence = false
    /// Record the gate values after their activations, and the cell state, at every step.
    public var gates = false
    /// Record the four gate pre-activations at every step.
    public var preactivations = false
    /// Only these units (all when nil).
    public var units: [Int]?
    /// Only steps `from..<to` of the processed order; negative values count from the end.
    public var steps: (from: Int?, to: Int?) = (nil, nil)

    /// No recording.
    public init() {}

    /// Whether anything is recorded.
    public var isEmpty: Bool { !sequence && !gates && !preactivations }

    public static func == (a: TraceOptions, b: TraceOptions) -> Bool {
        a.sequence == b.sequence && a.gates == b.gates && a.preactivations == b.preactivations && a.units == b.units
            && a.steps.from == b.steps.from && a.steps.to == b.steps.to
    }

    /// The step range these options select in a sequence of `count` steps, Python-style.
    public func stepRange(count: Int) -> Range<Int> {
        func resolve(_ value: Int?, _ fallback: Int) -> Int {
            guard let value else { return fallback }
            return min(max(value < 0 ? value + count : value, 0), count)
        }
        let from = resolve(steps.from, 0), to = resolve(steps.to, count)
        return from..<max(from, to)
    }
}

/// The per-step record of one LSTM direction: each array is `[batch, steps.count, units.count]`.
public struct LSTMTrace: Sendable, Equatable {
    /// The recorded steps, in processed order.
    public var steps: Range<Int>
    /// The recorded units.
    public var units: [Int]
    /// Whether step indices count processed steps of a backwards run (`go_backwards`).
    public var processedBackwards: Bool
    /// Hidden state after each step.
    public var sequence: [Float]?
    /// `i`, `f`, `g`, `o` after their activations and `c`, the cell state after each step. At a
    /// masked step the cell is held: `i = 0`, `f = 1`, `g = 0` and `o` repeats, so that
    /// `c_t = f_t·c_{t-1} + i_t·g_t` and `h_t = o_t·activation(c_t)` hold at every step.
    public var gates: [String: [Float]]?
    /// The pre-activations of `i`, `f`, `g`, `o` (at a masked step: as computed, then discarded).
    public var preactivations: [String: [Float]]?
}

/// Fills an `LSTMTrace` during a run; the LSTM kernel calls `record` after each step of each row.
final class LSTMTraceRecorder {
    private let options: TraceOptions
    private let batch: Int
    private let units: [Int]
    private let steps: Range<Int>
    private var trace: LSTMTrace
    /// The last output gate per row and recorded unit, repeated on masked steps.
    private var lastOutputGate: [Float]

    init(options: TraceOptions, batch: Int, stepCount: Int, lstm: LSTMOptions) {
        self.options = options
        self.batch = batch
        self.units = options.units ?? Array(0..<lstm.units)
        self.steps = options.stepRange(count: stepCount)
        let size = batch * steps.count * units.count
        let empty = [Float](repeating: 0, count: size)
        trace = LSTMTrace(
            steps: steps, units: units, processedBackwards: lstm.goBackwards,
            sequence: options.sequence ? empty : nil,
            gates: options.gates ? ["i": empty, "f": empty, "g": empty, "o": empty, "c": empty] : nil,
            preactivations: options.preactivations ? ["i": empty, "f": empty, "g": empty, "o": empty] : nil)
        lastOutputGate = [Float](repeating: 0, count: batch * units.count)
    }

    /// Records processed step `step` of batch row `row`: `z` is the row's `4·units`
    /// pre-activations, `gates` the same after their activations (valid when `kept`), `h` and
    /// `c` the row's state after the step.
    func record(step: Int, row: Int, kept: Bool, z: UnsafePointer<Float>, gates: UnsafePointer<Float>,
                h: UnsafePointer<Float>, c: UnsafePointer<Float>, width: Int) {
        if options.gates && kept {
            for (slot, unit) in units.enumerated() { lastOutputGate[row * units.count + slot] = gates[3 * width + unit] }
        }
        guard steps.contains(step) else { return }
        let base = (row * steps.count + step - steps.lowerBound) * units.count
        for (slot, unit) in units.enumerated() {
            let at = base + slot
            if options.sequence { trace.sequence![at] = h[unit] }
            if options.preactivations {
                trace.preactivations!["i"]![at] = z[unit]
                trace.preactivations!["f"]![at] = z[width + unit]
                trace.preactivations!["g"]![at] = z[2 * width + unit]
                trace.preactivations!["o"]![at] = z[3 * width + unit]
            }
            if options.gates {
                trace.gates!["i"]![at] = kept ? gates[unit] : 0
                trace.gates!["f"]![at] = kept ? gates[width + unit] : 1
                trace.gates!["g"]![at] = kept ? gates[2 * width + unit] : 0
                trace.gates!["o"]![at] = lastOutputGate[row * units.count + slot]
                trace.gates!["c"]![at] = c[unit]
            }
        }
    }

    /// The finished record.
    var result: LSTMTrace { trace }
}
