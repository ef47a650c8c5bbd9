import Testing
@testable import PeepholeServer

/// `/metrics` labels requests by route template and inference by model.
@Suite struct MetricsTests {
    @Test func metricsCarryRouteTemplatesStatusesAndModels() async throws {
        try await withServer { client in
            _ = try await client.post("/models/onehot/predict", oneHotInputs(batch: 3))
            _ = try await client.post("/models/onehot/predict", #"{"inputs": []}"#)
            _ = try await client.post("/models/embed/versions/1/layers/lstm/output", #"{"inputs": [[1, 2, 3, 0, 0, 0, 0]]}"#)
            _ = try await client.get("/no/such/route")
            let text = try await client.get("/metrics").text
            #expect(text.contains(#"peephole_http_requests_total{route="/models/{model}/predict",method="POST",status="200"} 1"#), "\(text)")
            #expect(text.contains(#"peephole_http_requests_total{route="/models/{model}/predict",method="POST",status="400"} 1"#))
            #expect(text.contains(#"peephole_http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
            #expect(text.contains(#"peephole_http_request_duration_seconds_bucket{route="/models/{model}/predict",method="POST",status="200",le="#))
            #expect(text.contains(#"peephole_inference_duration_seconds_count{model="onehot",endpoint="predict"} 1"#))
            #expect(text.contains(#"peephole_inference_duration_seconds_count{model="embed",endpoint="layer_output"} 1"#))
            #expect(text.contains(#"peephole_inference_batch_size_sum{model="onehot"} 3"#))
            #expect(!text.contains("/models/onehot/"), "raw paths must not become labels")
        }
    }
}
