import ArgumentParser
import Foundation
import PeepholeCore

/// `peephole-bench`: the in-process engine benchmark of `make bench`. Prints one JSON object:
/// batch-1 latency percentiles and throughput at batch 1, 8 and 64, for the demo model and for
/// larger random-weight shapes, with 1 and 2 worker threads; with `--kernels`, the matrix kernel
/// next to OpenBLAS (at one thread).
@main
struct Bench: ParsableCommand {
    @Option(help: "The model store holding the demo model.")
    var store = "models/peephole.sqlite"

    @Option(help: "The demo model's name.")
    var model = "chars"

    @Option(help: "Seconds per throughput measurement.")
    var seconds: Double = 2

    @Option(help: "Worker thread counts to measure, comma-separated.")
    var threads = "1,2"

    @Flag(help: "Only the demo model (skip the larger shapes).")
    var quick = false

    @Flag(help: "Also time the matrix kernel next to OpenBLAS on each shape's recurrent product.")
    var kernels = false

    func run() throws {
        BLAS.setThreads(1)
        let demo = try ModelStore(path: store, access: .readOnly).load(model: model).network
        var cases: [(name: String, network: Network)] = [("\(model) h64 T40 V76", demo)]
        if !quick {
            for hidden in [256, 1024] {
                cases.append(("random h\(hidden) T200 V76", try Synthetic.network(hidden: hidden, features: 76, outputs: 76)))
            }
        }
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
        var results: [[String: Any]] = []
        for (name, network) in cases {
            let steps = network.inputShape[0] ?? 200
            let hidden = Synthetic.hidden(network)
            let features = network.inputShape.last! ?? 76
            let outputs = network.layers.last!.outputShape.last! ?? 0
            let flops = Synthetic.flopsPerSequence(steps: steps, features: features, hidden: hidden, outputs: outputs)
            for workers in threadCounts {
                for batch in [1, 8, 64] {
                    let input = Synthetic.oneHot(batch: batch, steps: steps, features: features, seed: UInt64(batch))
                    let measured = Measure.run(network, input: input, workers: workers, seconds: batch == 1 || hidden < 512 ? seconds : seconds * 2)
                    var row: [String: Any] = [
                        "name": name, "hidden": hidden, "steps": steps, "features": features, "outputs": outputs,
                        "threads": workers, "batch": batch,
                        "throughput_seq_per_s": measured.throughput,
                        "gflops": measured.throughput * Double(flops) / 1e9,
                    ]
                    if batch == 1 && workers == 1 {
                        row["latency_us"] = ["p50": measured.percentile(0.5), "p90": measured.percentile(0.9), "p99": measured.percentile(0.99)]
                    }
                    results.append(row)
                    FileHandle.standardError.write(Data("\(name) threads=\(workers) batch=\(batch): \(Int(measured.throughput)) seq/s\n".utf8))
                }
            }
        }
        var document: [String: Any] = ["engine": "peephole", "results": results]
        if kernels { document["kernels"] = compareKernels() }
        let json = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        FileHandle.standardOutput.write(json + Data("\n".utf8))
    }

    /// The recurrent product of each shape (`[batch, hidden] · [hidden, 4·hidden]`), our kernel
    /// next to OpenBLAS, one thread.
    private func compareKernels() -> [[String: Any]] {
        var rows: [[String: Any]] = []
        for hidden in [64, 256, 1024] {
            for batch in [1, 8, 64] {
                let result = KernelComparison.measure(rows: batch, k: hidden, n: 4 * hidden, seconds: seconds / 2)
                rows.append([
                    "hidden": hidden, "batch": batch, "kernel_gflops": result.kernelGFLOPS, "openblas_gflops": result.openBLASGFLOPS,
                    "max_difference": Double(result.maxDifference), "openblas_rows_independent": result.openBLASRowsIndependentOfBatch,
                ])
                FileHandle.standardError.write(Data("kernel h\(hidden) batch=\(batch): \(Int(result.kernelGFLOPS)) vs OpenBLAS \(Int(result.openBLASGFLOPS)) GFLOP/s\n".utf8))
            }
        }
        return rows
    }
}
