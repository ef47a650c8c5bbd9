import CAllocationCounter
import Foundation
import Synchronization
import PeepholeCore

/// Timing of repeated forward passes.
struct Measure {
    /// Per-call latencies of worker 0, in microseconds, sorted.
    var latencies: [Double]
    /// Sequences per second over all workers.
    var throughput: Double

    /// The latency at quantile `q` (0…1).
    func percentile(_ q: Double) -> Double {
        latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]
    }

    /// Runs `network` on `input` from `workers` threads for about `seconds`, after a warm-up.
    static func run(_ network: Network, input: Tensor, workers: Int, seconds: Double) -> Measure {
        for _ in 0..<3 { _ = network.run(input) }
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        let results = Results(workers)
        let start = clock.now
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var latencies: [Double] = []
            latencies.reserveCapacity(100_000)
            var count = 0
            while clock.now < deadline {
                let began = clock.now
                _ = network.run(input)
                let elapsed = clock.now - began
                latencies.append(elapsed.inMicroseconds)
                count += 1
            }
            results.set(worker, count: count, latencies: latencies)
        }
        let elapsed = clock.now - start
        let total = results.counts.reduce(0, +) * input.shape[0]
        return Measure(latencies: results.latencies[0].sorted(), throughput: Double(total) / elapsed.inSeconds)
    }
}

/// What each worker measured, filled from several threads.
private final class Results: Sendable {
    private let measured: Mutex<(counts: [Int], latencies: [[Double]])>

    init(_ workers: Int) {
        measured = Mutex((Array(repeating: 0, count: workers), Array(repeating: [], count: workers)))
    }

    /// The sequences each worker ran.
    var counts: [Int] { measured.withLock { $0.counts } }
    /// Each worker's latencies.
    var latencies: [[Double]] { measured.withLock { $0.latencies } }

    func set(_ worker: Int, count: Int, latencies values: [Double]) {
        measured.withLock {
            $0.counts[worker] = count
            $0.latencies[worker] = values
        }
    }
}

extension Measure {
    /// The median time of `body` in microseconds over `iterations` calls after a warm-up (up to
    /// 1000 calls), each after `idle` µs of sleep, and its heap allocations per call (the process's
    /// count over all calls, divided; -1 where the allocation counter is not linked in).
    static func median(_ iterations: Int, idle: Int = 0, _ body: () async throws -> Void) async rethrows -> (p50: Double, allocations: Double) {
        for _ in 0..<min(1000, iterations) { try await body() }
        let clock = ContinuousClock()
        var times = [Double](repeating: 0, count: iterations)
        let before = ac_allocations()
        for index in 0..<iterations {
            if idle > 0 { usleep(UInt32(idle)) }
            let start = clock.now
            try await body()
            let elapsed = clock.now - start
            times[index] = elapsed.inMicroseconds
        }
        let allocations = before < 0 ? -1 : Double(ac_allocations() - before) / Double(iterations)
        times.sort()
        return (times[iterations / 2], allocations)
    }
}

extension Duration {
    /// The duration in seconds.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in microseconds.
    var inMicroseconds: Double { inSeconds * 1e6 }
}
