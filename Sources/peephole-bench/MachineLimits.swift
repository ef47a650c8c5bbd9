import Foundation
import PeepholeCore

/// What this machine allows one thread, measured beside the engine so the report can say how far
/// the engine is from it: STREAM-style copy bandwidth far beyond the last-level cache (the limit
/// issue 15 names) and at each shape's recurrent-weight size (where the weights stay in cache
/// across steps), read-only bandwidth at the same sizes, the FMA peak of one core, and the
/// bandwidth bound of LSTM(1024) over 200 steps at batch 1, with the core's `MachineLoops`; each
/// measurement takes well under two seconds.
enum MachineLimits {
    /// The recurrent weights' bytes of each benchmark shape: `hidden × 4·hidden` floats.
    static let workingSets: [(name: String, bytes: Int)] = [64, 256, 1024].map { ("h\($0)", $0 * 4 * $0 * 4) }

    /// Each array of the out-of-cache copy: 256 MB, eight times a 32 MB L3.
    static let bigArrayBytes = 256 << 20

    /// Measures everything; `results` are the engine rows, whose LSTM(1024) batch-1 p50 goes next
    /// to its bound.
    static func measure(against results: [[String: Any]]) -> [String: Any] {
        let big = bandwidth(copyBytes: bigArrayBytes, readBytes: bigArrayBytes, repetitions: 5)
        var sets: [[String: Any]] = []
        for (name, bytes) in workingSets {
            // The copy's source and destination together as large as the weights, which occupy the
            // cache alone; the read over an array the weights' size.
            let measured = bandwidth(copyBytes: bytes / 2, readBytes: bytes, repetitions: 7)
            sets.append(["shape": name, "bytes": bytes, "copy_gb_per_s": measured.copy, "read_gb_per_s": measured.read])
            log("machine: \(name) working set \(bytes >> 10) KiB: copy \(measured.copy.rounded1) GB/s, read \(measured.read.rounded1) GB/s")
        }
        let peak = fmaPeak()
        log("machine: copy \(big.copy.rounded1) GB/s, read \(big.read.rounded1) GB/s (2 × \(bigArrayBytes >> 20) MB); FMA peak \(peak.rounded1) GFLOP/s")
        let inCache = sets.last.map { ($0["copy_gb_per_s"] as! Double, $0["read_gb_per_s"] as! Double) }
        return [
            "isa": MachineLoops.instructionSet,
            "stream_copy_gb_per_s": big.copy, "stream_read_gb_per_s": big.read, "stream_array_bytes": bigArrayBytes,
            "working_sets": sets,
            "fma_peak_gflops": peak,
            "lstm1024_bound": lstmBound(hidden: 1024, steps: 200, copyGBPerS: big.copy, inCache: inCache, results: results),
        ]
    }

    /// The fastest LSTM(hidden) over `steps` one-hot steps can run at batch 1 if every step reads its
    /// weights once at the copy bandwidth: the recurrent kernel `[hidden, 4·hidden]`, one gathered
    /// input-kernel row and the bias (`4·hidden` floats each) per step. Also the bound at the copy
    /// and read bandwidths of a working set the weights' size (`inCache`), which is what the weights
    /// see when they fit the last-level cache.
    private static func lstmBound(hidden: Int, steps: Int, copyGBPerS: Double, inCache: (copy: Double, read: Double)?,
                                  results: [[String: Any]]) -> [String: Any] {
        let bytesPerStep = (hidden * 4 * hidden + 2 * 4 * hidden) * 4
        let boundUS = { (gbPerS: Double) in Double(steps * bytesPerStep) / (gbPerS * 1e9) * 1e6 }
        var bound: [String: Any] = [
            "hidden": hidden, "steps": steps, "bytes_per_step": bytesPerStep,
            "bandwidth_gb_per_s": copyGBPerS, "bound_us": boundUS(copyGBPerS),
        ]
        if let inCache {
            bound["bound_in_cache_copy_us"] = boundUS(inCache.copy)
            bound["bound_in_cache_read_us"] = boundUS(inCache.read)
        }
        let measured = results.first {
            $0["cell"] as? String == "LSTM" && $0["hidden"] as? Int == hidden && $0["steps"] as? Int == steps
                && $0["threads"] as? Int == 1 && $0["batch"] as? Int == 1
        }
        if let p50 = (measured?["latency_us"] as? [String: Double])?["p50"] {
            bound["measured_p50_us"] = p50
            bound["measured_over_bound"] = p50 / boundUS(copyGBPerS)
            log("machine: LSTM(\(hidden)) T\(steps) batch 1: bound \(Int(boundUS(copyGBPerS))) µs at \(copyGBPerS.rounded1) GB/s, measured \(Int(p50)) µs")
        }
        return bound
    }

    /// Best copy and read bandwidth in GB/s over `repetitions` timed rounds: a copy of `copyBytes`
    /// into as many, counting the bytes read plus the bytes written (STREAM's convention), and a sum
    /// over `readBytes`. A round repeats its pass until it has moved at least 256 MB.
    private static func bandwidth(copyBytes: Int, readBytes: Int, repetitions: Int) -> (copy: Double, read: Double) {
        let copyCount = copyBytes / 4, readCount = readBytes / 4
        let src = UnsafeMutablePointer<Float>.allocate(capacity: max(copyCount, readCount))
        let dst = UnsafeMutablePointer<Float>.allocate(capacity: copyCount)
        defer { src.deallocate(); dst.deallocate() }
        src.initialize(repeating: 1, count: max(copyCount, readCount))  // touches every page before timing
        dst.initialize(repeating: 0, count: copyCount)
        var sink: Float = 0
        let copyPasses = max(1, (256 << 20) / (copyCount * 8))
        let copy = best(of: repetitions, bytes: Double(copyPasses * copyCount * 8)) {
            for _ in 0..<copyPasses { MachineLoops.copy(src, to: dst, count: copyCount) }
        }
        let readPasses = max(1, (256 << 20) / (readCount * 4))
        let read = best(of: repetitions, bytes: Double(readPasses * readCount * 4)) {
            for _ in 0..<readPasses { sink += MachineLoops.sum(src, count: readCount) }
        }
        precondition(sink.isFinite && dst[copyCount - 1] == 1)
        return (copy, read)
    }

    /// Fused multiply-adds one core retires per second, as GFLOP/s (2 FLOP each), best of 5 rounds.
    private static func fmaPeak() -> Double {
        var sink: Float = 0
        let iterations = 4_000_000
        let fmas = MachineLoops.fmaChains(iterations: 1000, sink: &sink)  // warm-up, and the count per 1000 rounds
        let flops = Double(fmas / 1000 * iterations * 2)
        let rate = best(of: 5, bytes: flops) { _ = MachineLoops.fmaChains(iterations: iterations, sink: &sink) }
        precondition(sink.isFinite)
        return rate
    }

    /// The best of `repetitions` timings of `body` (after one untimed run), as `bytes` per second
    /// in billions.
    private static func best(of repetitions: Int, bytes: Double, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        body()
        var fastest = Double.infinity
        for _ in 0..<repetitions {
            let start = clock.now
            body()
            let elapsed = clock.now - start
            fastest = min(fastest, elapsed.inSeconds)
        }
        return bytes / fastest / 1e9
    }

    private static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

private extension Double {
    /// One decimal, for the progress lines.
    var rounded1: Double { (self * 10).rounded() / 10 }
}
