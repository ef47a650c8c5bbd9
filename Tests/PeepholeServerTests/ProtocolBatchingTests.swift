import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
@testable import PeepholeServer

/// V2 and TF Serving requests go through the dynamic batcher like `/predict`: sent together
/// they share one forward pass, and each gets the numbers it would get alone.
@Suite struct ProtocolBatchingTests {
    @Test func v2TFServingAndPredictRequestsSentTogetherShareOnePass() async throws {
        let rows = (0..<4).map { row in Array(oneHotFlat(batch: 4)[(row * 60)..<((row + 1) * 60)]) }
        let expected = Mutex<[[Float]]>([])
        try await withServer(models: [.onehot]) { client in
            for row in rows {
                let output = flat(try await client.post("/predict", #"{"inputs": \#(oneHotJSON(row))}"#).json["outputs"])
                expected.withLock { $0.append(output) }
            }
        }
        let reference = expected.withLock { $0 }
        try await withServer(models: [.onehot], config: BatchingRouteTests.config(maxSize: 4)) { client in
            let outputs = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for (index, row) in rows.enumerated() {
                    group.addTask {
                        switch index {
                        case 0:
                            return (index, flat(try await client.post("/predict", #"{"inputs": \#(oneHotJSON(row))}"#).json["outputs"]))
                        case 1:
                            return (index, flat(try await client.post("/v1/models/onehot:predict", #"{"instances": \#(oneHotJSON(row))}"#).json["predictions"]))
                        default:
                            let header = #"{"inputs": [{"name": "input", "shape": [1, 6, 10], "datatype": "FP32", "parameters": {"binary_data_size": 240}}], "parameters": {"binary_data_output": true}}"#
                            return (index, try await client.v2("/v2/models/onehot/infer", header, binary: bytes(row)).v2.outputs["dense"] ?? [])
                        }
                    }
                }
                var outputs = [[Float]](repeating: [], count: rows.count)
                for try await (index, output) in group { outputs[index] = output }
                return outputs
            }
            for (output, alone) in zip(outputs, reference) { #expect(close(output, alone)) }
            let metrics = try await client.get("/metrics").text
            BatchingRouteTests.expectPasses(metrics, model: "onehot", passes: 1, sequences: 4)
            #expect(metrics.contains(#"peephole_inference_duration_seconds_count{model="onehot",endpoint="v2_infer"} 2"#))
        }
    }
}
