import Foundation

/// Our matrix kernel next to OpenBLAS on the same products, for `peephole-bench`: the measured
/// reason the compute core multiplies with its own kernel (README, "Performance").
public enum KernelComparison {
    /// One product `[rows, k] · [k, n]` timed both ways.
    public struct Result: Sendable {
        /// GFLOP/s of `PackedMatrix.accumulate`.
        public let kernelGFLOPS: Double
        /// GFLOP/s of OpenBLAS (`sgemv` for one row, as a one-row product is best run there; else `sgemm`).
        public let openBLASGFLOPS: Double
        /// The largest difference between the two results.
        public let maxDifference: Float
        /// Whether OpenBLAS computes row 0 to the same bits inside the batch as alone (by `sgemv`).
        /// Our kernel always does (MatrixKernelTests).
        public let openBLASRowsIndependentOfBatch: Bool
    }

    /// Times `[rows, k] · [k, n]` (random values, fixed seed) for about `seconds` each way.
    public static func measure(rows: Int, k: Int, n: Int, seconds: Double) -> Result {
        var random = SplitMix64(seed: UInt64(rows * 1_000_003 + k * 1009 + n))
        let a = (0..<(rows * k)).map { _ in Float(random.nextUnit()) * 2 - 1 }
        let w = (0..<(k * n)).map { _ in Float(random.nextUnit()) * 2 - 1 }
        let packed = PackedMatrix(w, rows: k, columns: n)
        var ours = [Float](repeating: 0, count: rows * n), theirs = ours, alone = [Float](repeating: 0, count: n)
        let flops = Double(2 * rows * k * n)

        let kernelRate = rate(seconds: seconds, flops: flops) {
            ours.withUnsafeMutableBufferPointer { packed.accumulate(a, lda: k, count: rows, into: $0.baseAddress!, ldc: n) }
        }
        let openBLASRate = rate(seconds: seconds, flops: flops) {
            if rows == 1 {
                BLAS.vectorTimesMatrix(m: k, n: n, x: a, a: w, lda: n, beta: 1, y: &theirs)
            } else {
                BLAS.sgemm(.none, .none, m: rows, n: n, k: k, a: a, lda: k, b: w, ldb: n, beta: 1, c: &theirs, ldc: n)
            }
        }
        // One more product each from zeros, to compare values.
        ours = [Float](repeating: 0, count: rows * n)
        theirs = ours
        ours.withUnsafeMutableBufferPointer { packed.accumulate(a, lda: k, count: rows, into: $0.baseAddress!, ldc: n) }
        BLAS.sgemm(.none, .none, m: rows, n: n, k: k, a: a, lda: k, b: w, ldb: n, beta: 0, c: &theirs, ldc: n)
        BLAS.vectorTimesMatrix(m: k, n: n, x: a, a: w, lda: n, beta: 0, y: &alone)
        return Result(
            kernelGFLOPS: kernelRate, openBLASGFLOPS: openBLASRate,
            maxDifference: zip(ours, theirs).map { abs($0 - $1) }.max() ?? 0,
            openBLASRowsIndependentOfBatch: theirs[0..<n].map(\.bitPattern) == alone.map(\.bitPattern))
    }

    /// Runs `body` repeatedly for about `seconds`; GFLOP/s at `flops` per call.
    private static func rate(seconds: Double, flops: Double, _ body: () -> Void) -> Double {
        let clock = ContinuousClock(), start = clock.now
        var calls = 0
        repeat {
            for _ in 0..<16 { body() }
            calls += 16
        } while clock.now - start < .seconds(seconds)
        let elapsed = clock.now - start
        return Double(calls) * flops / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) / 1e9
    }
}
