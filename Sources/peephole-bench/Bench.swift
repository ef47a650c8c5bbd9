import ArgumentParser
import Foundation
import PeepholeCore
import PeepholeProtocols

/// `peephole-bench`: the in-process engine benchmark of `make bench`. Prints one JSON object:
/// batch-1 latency percentiles and throughput at batch 1, 8 and 64, for the demo model and for
/// larger random-weight shapes, with 1 and 2 worker threads; with `--kernels`, the matrix kernel
/// next to OpenBLAS (at one thread).
@main
struct Bench: AsyncParsableCommand {
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

    @Flag(help: "Only where the time of one POST /predict goes inside the server (the request_path key).")
    var requestPathOnly = false

    @Option(help: "Calls per stage of the request path.")
    var requestPathIterations = 20_000

    @Option(help: "Microseconds of sleep before each timed call of the request path (a core idling between one connection's requests).")
    var requestPathIdleUs = 0

    @Option(help: "Instead of measuring: write a store holding a random-weight model random_h<hidden> (LSTM(hidden) over 200 one-hot steps of 76 features, Dense(76, softmax)) to this path, for the HTTP batching benchmark.")
    var writeStore: String?

    @Option(help: "The hidden units of the model --write-store writes.")
    var hidden = 256

    func run() async throws {
        if let writeStore {
            let file = try Synthetic.modelFile(hidden: hidden, features: 76, outputs: 76, steps: 200)
            try ModelStore(path: writeStore).importModel(file, name: "random_h\(hidden)")
            return
        }
        BLAS.setThreads(1)
        if requestPathOnly {
            let document = ["request_path": try await RequestPath.measure(store: store, model: model, iterations: requestPathIterations, idleMicroseconds: requestPathIdleUs)]
            FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]) + Data("\n".utf8))
            return
        }
        let loaded = try ModelStore(path: store, access: .readOnly).load(model: model)
        let demo = loaded.network
        // A GRU as wide as the demo's LSTM, over as many steps: its steps should cost no more.
        let demoSteps = demo.inputShape[0] ?? 40
        var cases: [(name: String, cell: String, steps: Int, network: Network)] = [
            ("\(model) h64 T\(demoSteps) V76", "LSTM", demoSteps, demo),
            ("random GRU h64 T\(demoSteps) V76", "GRU", demoSteps, try Synthetic.network(cell: "GRU", hidden: 64, features: 76, outputs: 76)),
        ]
        if !quick {
            for hidden in [256, 1024] {
                cases.append(("random h\(hidden) T200 V76", "LSTM", 200, try Synthetic.network(hidden: hidden, features: 76, outputs: 76)))
            }
        }
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
        var results: [[String: Any]] = []
        for (name, cell, steps, network) in cases {
            let hidden = Synthetic.hidden(network)
            let features = network.inputShape.last! ?? 76
            let outputs = network.layers.last!.outputShape.last! ?? 0
            let flops = Synthetic.flopsPerSequence(steps: steps, features: features, hidden: hidden, outputs: outputs,
                                                   gates: cell == "GRU" ? 3 : 4)
            for workers in threadCounts {
                for batch in [1, 8, 64] {
                    let input = Synthetic.oneHot(batch: batch, steps: steps, features: features, seed: UInt64(batch))
                    let measured = Measure.run(network, input: input, workers: workers, seconds: batch == 1 || hidden < 512 ? seconds : seconds * 2)
                    var row: [String: Any] = [
                        "name": name, "cell": cell, "hidden": hidden, "steps": steps, "features": features, "outputs": outputs,
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
        if kernels { document["machine"] = MachineLimits.measure(against: results) }
        document["json"] = try await measureJSON(loaded)
        document["request_path"] = try await RequestPath.measure(store: store, model: model)
        let json = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        FileHandle.standardOutput.write(json + Data("\n".utf8))
    }

    /// The JSON path of one `/predict` request as `make bench` sends it (one one-hot sequence,
    /// numbers written `0.0`/`1.0` as Python's json does): decoding the body alone, and the whole
    /// body-to-body call (decode, forward pass, encode); p50 in microseconds.
    private func measureJSON(_ model: LoadedModel) async throws -> [String: Any] {
        let steps = model.network.inputShape[0] ?? 40, features = (model.network.inputShape.last ?? 76) ?? 76
        let hot = (0..<steps).flatMap { step in (0..<features).map { $0 == (step * 7) % features ? Float(1) : 0 } }
        let body = Array(RequestPath.inputsBody(Tensor(shape: [1, steps, features], data: hot)).utf8)
        let api = PeepholeAPI(limits: RequestLimits(), runner: DirectRunner())
        let decode = try await Measure.median(2000) {
            _ = try PeepholeJSON.decode(PredictRequest.self, from: body, limits: api.limits).input.tensor(for: model, limits: api.limits)
        }.p50
        let whole = try await Measure.median(2000) {
            _ = try PeepholeJSON.encode(try await api.predict(try PeepholeJSON.decode(PredictRequest.self, from: body, limits: api.limits), model: model))
        }.p50
        FileHandle.standardError.write(Data("json: decode \(decode) us, body to body \(whole) us (\(body.count) bytes)\n".utf8))
        return ["body_bytes": body.count, "decode_us_p50": decode, "predict_body_to_body_us_p50": whole]
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
