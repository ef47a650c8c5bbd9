/// What to record of a recurrent layer's run, step by step (the introspection options of a request).
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

/// The per-step record of one direction of a recurrent layer: each array is
/// `[batch, steps.count, units.count]`. The gate names depend on the layer kind (`gateNames`).
public struct RecurrentTrace: Sendable, Equatable {
    /// The recorded steps, in processed order.
    public var steps: Range<Int>
    /// The recorded units.
    public var units: [Int]
    /// Whether step indices count processed steps of a backwards run (`go_backwards`).
    public var processedBackwards: Bool
    /// Hidden state after each step.
    public var sequence: [Float]?
    /// LSTM: `i`, `f`, `g`, `o` after their activations and `c`, the cell state after each step. At a
    /// masked step the cell is held: `i = 0`, `f = 1`, `g = 0` and `o` repeats, so that
    /// `c_t = f_t·c_{t-1} + i_t·g_t` and `h_t = o_t·activation(c_t)` hold at every step.
    /// GRU: `z` (update), `r` (reset), `hh` (candidate after its activation); at a masked step
    /// `z = 1`, `r = 0`, `hh = 0`, so that `h_t = z_t·h_{t-1} + (1 − z_t)·hh_t` holds at every step.
    /// SimpleRNN: none.
    public var gates: [String: [Float]]?
    /// The gates' pre-activations (at a masked step: as computed, then discarded). For the GRU
    /// candidate: `x·W_h + b_h + r ⊙ (h·U_h + b_rh)` with `reset_after`, else `x·W_h + b_h + (r ⊙ h)·U_h`.
    public var preactivations: [String: [Float]]?
    /// The keys of `gates`, in the order a response lists them.
    public var gateNames: [String] = ["i", "f", "g", "o", "c"]
    /// The keys of `preactivations`, in order.
    public var preactivationNames: [String] = ["i", "f", "g", "o"]
}

/// A clamp of a recurrent layer's state during a run (an intervention: ablation, activation
/// patching): after each processed step in `steps`, `field` of `units` is set to `value`, so the
/// layer's output at that step, its later steps and every layer after it see the clamped value.
public struct StateClamp: Sendable, Equatable {
    /// The state clamped: `h`, or an LSTM's `c`.
    public var field: String
    /// The units clamped; all when nil.
    public var units: [Int]?
    /// The processed steps clamped (as a trace counts them); every step when nil.
    public var steps: Range<Int>?
    /// The value they are set to.
    public var value: Float
    /// The direction of a Bidirectional layer (0 forward, 1 backward); both when nil.
    public var direction: Int?

    /// A clamp of `field` to `value`.
    public init(field: String, units: [Int]? = nil, steps: Range<Int>? = nil, value: Float, direction: Int? = nil) {
        (self.field, self.units, self.steps, self.value, self.direction) = (field, units, steps, value, direction)
    }
}

/// Watches a recurrent layer's run, step by step: applies the state clamps asked for, then fills
/// a trace when one is asked for. The layer calls `record` after each step of each row.
final class TraceRecorder {
    /// The gates a recurrent kind keeps in its row buffer, in order, and what a masked step records.
    struct Layout {
        /// The activated gates, in the order of the row's gate buffer (pre-activations likewise).
        let gates: [String]
        /// A masked step's value of each gate; nil repeats the gate's last kept value.
        let heldAtMask: [Float?]
        /// The name of a cell state recorded with the gates (LSTM `c`).
        let cell: String?

        static let lstm = Layout(gates: ["i", "f", "g", "o"], heldAtMask: [0, 1, 0, nil], cell: "c")
        static let gru = Layout(gates: ["z", "r", "hh"], heldAtMask: [1, 0, 0], cell: nil)
        static let simpleRNN = Layout(gates: [], heldAtMask: [], cell: nil)
    }

    private let options: TraceOptions
    /// Whether a trace is kept (else the recorder only clamps).
    private let recording: Bool
    private let clamps: [StateClamp]
    /// An LSTM's cell activation: a clamped `c` gives the step's `h = o·activation(c)`.
    private let cellActivation: Activation?
    private let layout: Layout
    private let units: [Int]
    private let steps: Range<Int>
    private var trace: RecurrentTrace
    /// The last kept value per row, recorded unit and repeated gate (`heldAtMask` nil).
    private var lastKept: [Float]

    init(options: TraceOptions?, clamps: [StateClamp] = [], cellActivation: Activation? = nil, layout: Layout, batch: Int, stepCount: Int,
         units unitCount: Int, goBackwards: Bool) {
        let options = options ?? TraceOptions()
        self.options = options
        self.recording = !options.isEmpty
        self.clamps = clamps.sorted { $0.field == "c" && $1.field != "c" }  // c first: h clamps then win
        self.cellActivation = cellActivation
        self.layout = layout
        self.units = options.units ?? Array(0..<unitCount)
        self.steps = options.stepRange(count: stepCount)
        let empty = [Float](repeating: 0, count: batch * steps.count * units.count)
        let gateNames = layout.gates + (layout.cell.map { [$0] } ?? [])
        trace = RecurrentTrace(
            steps: steps, units: units, processedBackwards: goBackwards,
            sequence: options.sequence ? empty : nil,
            gates: options.gates ? Dictionary(uniqueKeysWithValues: gateNames.map { ($0, empty) }) : nil,
            preactivations: options.preactivations ? Dictionary(uniqueKeysWithValues: layout.gates.map { ($0, empty) }) : nil,
            gateNames: gateNames, preactivationNames: layout.gates)
        lastKept = [Float](repeating: 0, count: batch * units.count * layout.gates.count)
    }

    /// Clamps, then records processed step `step` of batch row `row`: `z` is the row's
    /// pre-activations and `gates` the same after their activations (valid when `kept`), `width`
    /// units per gate; `h` and `c` the row's state after the step, which the clamps change. A
    /// clamped `c` of a kept step gives that step's `h = o·activation(c)` (unless `h` is clamped
    /// too), so the LSTM's identities hold at the clamped step.
    func record(step: Int, row: Int, kept: Bool, z: UnsafePointer<Float>, gates: UnsafePointer<Float>,
                h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?, width: Int) {
        for clamp in clamps where clamp.steps?.contains(step) ?? true {
            guard let target = clamp.field == "c" ? c : h else { continue }
            var fromCell: Float?
            if clamp.field == "c", kept, let cellActivation {
                var activated = clamp.value
                Kernels.activateGate(cellActivation, &activated, count: 1)
                fromCell = activated
            }
            func set(_ unit: Int) {
                target[unit] = clamp.value
                if let fromCell { h[unit] = gates[3 * width + unit] * fromCell }
            }
            if let units = clamp.units { units.forEach(set) } else { (0..<width).forEach(set) }
        }
        guard recording else { return }
        let gateCount = layout.gates.count
        if options.gates && kept {
            for gate in 0..<gateCount where layout.heldAtMask[gate] == nil {
                for (slot, unit) in units.enumerated() { lastKept[(row * units.count + slot) * gateCount + gate] = gates[gate * width + unit] }
            }
        }
        guard steps.contains(step) else { return }
        let base = (row * steps.count + step - steps.lowerBound) * units.count
        for (slot, unit) in units.enumerated() {
            let at = base + slot
            if options.sequence { trace.sequence![at] = h[unit] }
            for (gate, name) in layout.gates.enumerated() {
                if options.preactivations { trace.preactivations![name]![at] = z[gate * width + unit] }
                if options.gates {
                    trace.gates![name]![at] = kept ? gates[gate * width + unit]
                        : layout.heldAtMask[gate] ?? lastKept[(row * units.count + slot) * gateCount + gate]
                }
            }
            if options.gates, let cell = layout.cell, let c { trace.gates![cell]![at] = c[unit] }
        }
    }

    /// The finished record, when one was asked for.
    var result: RecurrentTrace? { recording ? trace : nil }
}
