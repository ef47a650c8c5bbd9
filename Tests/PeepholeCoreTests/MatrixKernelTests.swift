import Foundation
import Testing
@testable import PeepholeCore

/// The compute core's own kernels compute exactly their definitions, so that a row's result
/// never depends on the batch it runs in, nor on the instruction set.
@Suite struct MatrixKernelTests {
    /// The instruction sets this machine can run (the scalar definition at least).
    static let instructionSets = PackedMatrix.InstructionSet.allCases.filter { $0.rawValue <= PackedMatrix.InstructionSet.best.rawValue }

    @Test func packedProductMultipliesTwoByTwo() {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50], added to c = 1.
        let matrix = PackedMatrix([5, 6, 7, 8], rows: 2, columns: 2)
        var c: [Float] = [1, 1, 1, 1]
        let a: [Float] = [1, 2, 3, 4]
        c.withUnsafeMutableBufferPointer { matrix.accumulate(a, lda: 2, count: 2, into: $0.baseAddress!, ldc: 2) }
        #expect(c == [20, 23, 44, 51])
        #expect(matrix.affine(a, lda: 2, count: 2, bias: [1, -1]) == [20, 21, 44, 49])
    }

    /// Every element is `c` plus one fused multiply-add per term, in order: checked bit for bit
    /// against that definition for every row count of a block and around every panel edge.
    @Test(arguments: instructionSets)
    func packedProductIsTheSequentialFusedSum(_ instructions: PackedMatrix.InstructionSet) {
        var random = SplitMix64(seed: 7)
        for (k, n) in [(1, 1), (5, 12), (64, 256), (76, 64), (130, 76), (300, 200), (17, 384)] {
            for rows in [1, 2, 3, 5, 6, 7, 13] {
                let a = (0..<(rows * k)).map { _ in Float(random.nextUnit()) * 2 - 1 }
                let w = (0..<(k * n)).map { _ in Float(random.nextUnit()) * 2 - 1 }
                let start = (0..<(rows * n)).map { _ in Float(random.nextUnit()) }
                var expected = start
                for r in 0..<rows {
                    for j in 0..<n {
                        var sum = start[r * n + j]
                        for i in 0..<k { sum.addProduct(a[r * k + i], w[i * n + j]) }
                        expected[r * n + j] = sum
                    }
                }
                let matrix = PackedMatrix(w, rows: k, columns: n)
                for reverse in [false, true] {
                    var c = start
                    c.withUnsafeMutableBufferPointer {
                        matrix.accumulate(a, lda: k, count: rows, into: $0.baseAddress!, ldc: n, reversePanels: reverse, using: instructions)
                    }
                    #expect(c.map(\.bitPattern) == expected.map(\.bitPattern), "k \(k) n \(n) rows \(rows) reverse \(reverse) on \(instructions)")
                }
            }
        }
    }

    /// The LSTM cell gives the same bits on every instruction set, and is within float rounding
    /// of the double-precision definition.
    @Test func lstmCellIsTheSameOnEveryInstructionSet() {
        var random = SplitMix64(seed: 11)
        let units = 37 // vector bodies and scalar tails on every instruction set
        let z = (0..<(4 * units)).map { index in index % 9 == 0 ? Float(index) - 60 : Float(random.nextUnit()) * 16 - 8 }
        let c0 = (0..<units).map { _ in Float(random.nextUnit()) * 6 - 3 }
        var outputs: [[UInt32]] = []
        for instructions in Self.instructionSets {
            var gates = [Float](repeating: 0, count: 4 * units), c = c0, h = [Float](repeating: 0, count: units)
            Kernels.lstmCell(z: z, gates: &gates, c: &c, h: &h, units: units, using: instructions)
            outputs.append((gates + c + h).map(\.bitPattern))
            func sigmoid(_ x: Float) -> Double { 1 / (1 + Foundation.exp(-Double(x))) }
            for u in 0..<units {
                let i = sigmoid(z[u]), f = sigmoid(z[units + u]), g = Foundation.tanh(Double(z[2 * units + u])), o = sigmoid(z[3 * units + u])
                let cell = f * Double(c0[u]) + i * g
                #expect(abs(Double(c[u]) - cell) < 1e-6)
                #expect(abs(Double(h[u]) - o * Foundation.tanh(cell)) < 1e-6)
                #expect(abs(Double(gates[2 * units + u]) - g) < 1e-6)
            }
        }
        #expect(Set(outputs).count == 1)
    }

    /// The GRU's fused gates and update give the same bits on every instruction set.
    @Test(arguments: [true, false])
    func gruCellIsTheSameOnEveryInstructionSet(resetAfter: Bool) {
        var random = SplitMix64(seed: 12)
        let units = 37
        let x0 = (0..<(3 * units)).map { index in index % 9 == 0 ? Float(index) - 60 : Float(random.nextUnit()) * 16 - 8 }
        let recurrent = (0..<(3 * units)).map { _ in Float(random.nextUnit()) * 4 - 2 }
        let h0 = (0..<units).map { _ in Float(random.nextUnit()) * 2 - 1 }
        var outputs: [[UInt32]] = []
        for instructions in Self.instructionSets {
            var x = x0, gates = [Float](repeating: 0, count: 3 * units), h = h0, resetH = [Float](repeating: 0, count: units)
            x.withUnsafeMutableBufferPointer { x in
                Kernels.gruGates(x: x.baseAddress!, recurrent: resetAfter ? recurrent : nil, gates: &gates, units: units,
                                 recurrentActivation: .sigmoid, h: h, resetH: &resetH, using: instructions)
                Kernels.gruUpdate(xH: x.baseAddress! + 2 * units, recurrentH: resetAfter ? Array(recurrent[(2 * units)...]) : nil,
                                  gates: &gates, h: &h, units: units, activation: .tanh, using: instructions)
            }
            outputs.append((x + gates + h + resetH).map(\.bitPattern))
        }
        #expect(Set(outputs).count == 1)
    }

    @Test func oneHotRowsAreFoundAndOthersRefused() {
        #expect(Kernels.oneHotIndices([0, 1, 0, 1, 0, 0, 0, 0, 1], width: 3) == [1, 0, 2])
        #expect(Kernels.oneHotIndices([0, 1, 0, 1, 1, 0], width: 3) == nil) // two ones
        #expect(Kernels.oneHotIndices([0, 0.5, 0], width: 3) == nil)
        #expect(Kernels.oneHotIndices([0, 0, 0], width: 3) == nil)
        #expect(Kernels.oneHotIndices([1, .nan, 0], width: 3) == nil)
        #expect(Kernels.oneHotIndices([0, 2, 0], width: 3) == nil)
    }
}
