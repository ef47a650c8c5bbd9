import CPeepholeKernels

/// The compute core's own kernels (`CPeepholeKernels`): this is the only file that calls them.
enum Kernels {
    private static func isa(_ instructions: PackedMatrix.InstructionSet) -> pk_isa {
        pk_isa(rawValue: UInt32(instructions.rawValue))
    }

    private static func kind(_ activation: Activation) -> pk_activation {
        // `Activation`'s cases are declared in `pk_activation`'s order.
        pk_activation(rawValue: UInt32(Activation.allCases.firstIndex(of: activation)!))
    }

    /// Keras' definition of `activation` at `x` (libm); not for softmax.
    static func activation(_ activation: Activation, at x: Float) -> Float {
        pk_activation_scalar(kind(activation), x)
    }

    /// A layer activation in place over `count` values; softmax normalises each row of `width`.
    static func activate(_ activation: Activation, _ values: UnsafeMutablePointer<Float>, count: Int, width: Int) {
        pk_activate(kind(activation), values, count, width)
    }

    /// A recurrent gate activation in place: sigmoid and tanh vectorised on Cephes' `exp`, the
    /// same values on every instruction set; the others as `activate`.
    static func activateGate(_ activation: Activation, _ values: UnsafeMutablePointer<Float>, count: Int) {
        pk_gate_activate(isa(.best), kind(activation), values, count)
    }

    /// `result = a + b`, `count` values.
    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into result: UnsafeMutablePointer<Float>, count: Int) {
        pk_add(a, b, result, count)
    }

    /// One row's LSTM cell update with sigmoid gates and tanh, Keras' default activations:
    /// `gates` = activated `z` (`[i f g o]`, `units` each), `c = f·c + i·g`, `h = o·tanh(c)`.
    /// Computes the same values on every instruction set.
    static func lstmCell(z: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
                         h: UnsafeMutablePointer<Float>, units: Int, using instructions: PackedMatrix.InstructionSet = .best) {
        pk_lstm_cell(isa(instructions), z, gates, c, h, units)
    }

    /// One row's LSTM cell update for any activations (see `lstmCell`).
    static func lstmCell(z: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
                         h: UnsafeMutablePointer<Float>, units: Int, activation: Activation, recurrentActivation: Activation) {
        pk_lstm_cell_general(isa(.best), kind(activation), kind(recurrentActivation), z, gates, c, h, units)
    }

    /// A GRU row's update and reset gates: `x` (`[z r h]` input pre-activations) gets `recurrent`'s
    /// z and r terms added when given, then `gates[0..<2·units]` = `recurrentActivation(x)`; with
    /// `resetH`, also `resetH = r ⊙ h`.
    static func gruGates(x: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>?, gates: UnsafeMutablePointer<Float>,
                         units: Int, recurrentActivation: Activation, h: UnsafePointer<Float>? = nil, resetH: UnsafeMutablePointer<Float>? = nil,
                         using instructions: PackedMatrix.InstructionSet = .best) {
        pk_gru_gates(isa(instructions), kind(recurrentActivation), x, recurrent, gates, h, resetH, units)
    }

    /// A GRU row's candidate `hh = activation(x_h + r ⊙ recurrentH)` (the product only when
    /// `recurrentH` is given: `reset_after`) into `gates[2·units…]` and `h = z·h + (1 − z)·hh`.
    static func gruUpdate(xH: UnsafeMutablePointer<Float>, recurrentH: UnsafePointer<Float>?, gates: UnsafeMutablePointer<Float>,
                          h: UnsafeMutablePointer<Float>, units: Int, activation: Activation, using instructions: PackedMatrix.InstructionSet = .best) {
        pk_gru_update(isa(instructions), kind(activation), xH, recurrentH, gates, h, units)
    }

    /// The index of the 1 in each row of `width` values, when every row is one-hot; nil otherwise.
    static func oneHotIndices(_ data: [Float], width: Int) -> [Int]? {
        guard width > 0 else { return nil }
        let rows = data.count / width
        var indices = [Int](repeating: 0, count: rows)
        let found = data.withUnsafeBufferPointer { data in
            indices.withUnsafeMutableBufferPointer { indices in
                pk_one_hot_indices(data.baseAddress, rows, width, indices.baseAddress)
            }
        }
        return found != 0 ? indices : nil
    }
}

/// A weight matrix arranged at load time for the compute core's matrix kernel.
///
/// Every product it computes adds one fused
/// multiply-add per term, in order, to each output element (see `peephole_kernels.h`), so a
/// row's result never depends on how many rows are computed with it: batched and unbatched
/// runs agree bit for bit, whatever the instruction set.
struct PackedMatrix: Sendable {
    /// Rows of the matrix (the length of the vectors it multiplies).
    let rows: Int
    /// Columns of the matrix (the width of the products).
    let columns: Int
    /// Panels of `PK_PANEL` columns, each `[rows, PK_PANEL]`, the last padded with zeros.
    private let panels: [Float]

    /// The instruction sets the kernel can use, widest last.
    enum InstructionSet: Int, CaseIterable, Sendable {
        case scalar, avx2, avx512

        /// The widest one this CPU has.
        static let best = InstructionSet(rawValue: Int(pk_best_isa().rawValue))!
    }

    /// Packs row-major `matrix` `[rows, columns]`.
    init(_ matrix: [Float], rows: Int, columns: Int) {
        precondition(matrix.count == rows * columns, "matrix of \(matrix.count) is not [\(rows), \(columns)]")
        self.rows = rows
        self.columns = columns
        let count = pk_packed_count(rows, columns)
        panels = [Float](unsafeUninitializedCapacity: count) { buffer, initialised in
            matrix.withUnsafeBufferPointer { pk_pack($0.baseAddress, rows, columns, buffer.baseAddress) }
            initialised = count
        }
    }

    /// `c[r, :] += a[r, :] · self` for `r < count`; `a` has leading dimension `lda`, `c` has `ldc`.
    /// `reversePanels` changes only the order the columns are computed in (see the kernel's header):
    /// a loop alternating it keeps more of the matrix in the L1 cache.
    func accumulate(_ a: UnsafePointer<Float>, lda: Int, count: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
                    reversePanels: Bool = false, using instructions: InstructionSet = .best) {
        precondition(lda >= rows && ldc >= columns, "leading dimensions \(lda), \(ldc) for [\(rows), \(columns)]")
        guard count > 0, columns > 0 else { return }
        panels.withUnsafeBufferPointer { panels in
            pk_matmul_acc(pk_isa(rawValue: UInt32(instructions.rawValue)), a, lda, count, panels.baseAddress, rows, columns, c, ldc, reversePanels ? 1 : 0)
        }
    }

    /// `bias + a · self` for each of the `count` rows of `a` (leading dimension `lda`), row-major.
    func affine(_ a: UnsafePointer<Float>, lda: Int, count: Int, bias: [Float]) -> [Float] {
        precondition(bias.count == columns, "bias of \(bias.count) for \(columns) columns")
        var output = [Float](repeating: 0, count: count * columns)
        output.withUnsafeMutableBufferPointer { output in
            for row in 0..<count { (output.baseAddress! + row * columns).update(from: bias, count: columns) }
            accumulate(a, lda: lda, count: count, into: output.baseAddress!, ldc: columns)
        }
        return output
    }
}

/// The loops of `machine_limits.c`, for `peephole-bench` to measure what one core allows (copy
/// and read bandwidth, the FMA peak) on the instruction set the kernels use.
public enum MachineLoops {
    /// The instruction set the kernels run on here: "avx512", "avx2" or "scalar".
    public static var instructionSet: String { ["scalar", "avx2", "avx512"][Int(pk_best_isa().rawValue)] }

    /// `destination[i] = source[i]` for `i < count`, with ordinary vector loads and stores.
    public static func copy(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        pk_copy_floats(pk_best_isa(), source, destination, count)
    }

    /// The sum of `count` floats, in an unspecified order.
    public static func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        pk_sum_floats(pk_best_isa(), values, count)
    }

    /// `iterations` rounds of independent fused multiply-add chains; their sum goes to `sink`.
    /// Returns the multiply-adds done.
    public static func fmaChains(iterations: Int, sink: inout Float) -> Int {
        pk_fma_chains(pk_best_isa(), iterations, &sink)
    }
}
