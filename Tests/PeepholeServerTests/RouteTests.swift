import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Every route answers with the JSON the issue describes.
@Suite struct RouteTests {
    @Test func healthAndReadyAnswerOK() async throws {
        try await withServer { client in
            let health = try await client.get("/health")
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")
            let ready = try await client.get("/ready")
            #expect(ready.status == .ok)
            #expect(ready.json["models"] as? Int == 3)
        }
    }

    @Test func modelsListsEveryModelItsVersionsAndTheDefault() async throws {
        try await withServer(prepare: { try $0.store.importModel(try .read(path: Fixtures.keras.appendingPathComponent("onehot.k3.keras").path), name: "onehot") }) { client in
            let response = try await client.get("/models")
            #expect(response.status == .ok)
            #expect(response.json["default_model"] as? String == "onehot")
            let models = try #require(response.json["models"] as? [[String: Any]])
            #expect(models.map { $0["name"] as? String } == ["bidi", "embed", "onehot"])
            let onehot = try #require(models.last)
            #expect(onehot["default"] as? Bool == true)
            #expect(onehot["served_version"] as? Int == 2)
            let versions = try #require(onehot["versions"] as? [[String: Any]])
            #expect(versions.map { $0["version"] as? Int } == [1, 2])
            #expect(versions.allSatisfy { $0["status"] as? String == "ready" && $0["parameter_count"] as? Int == 698 })
        }
    }

    @Test func modelDescribesItsNewestVersionInFull() async throws {
        try await withServer { client in
            for uri in ["/models/embed", "/models/embed/versions/1"] {
                let json = try await client.get(uri).json
                #expect(json["model"] as? String == "embed")
                #expect(json["version"] as? Int == 1)
                #expect(json["input_dtype"] as? String == "int32")
                #expect((json["input_shape"] as? [Any])?.count == 2)
                #expect((json["input_shape"] as? [Any])?.first is NSNull)
                #expect((json["output_shape"] as? [Any])?.last as? Int == 12)
                #expect((json["vocabulary"] as? [String])?.count == 12)
                #expect((json["source_sha256"] as? String)?.count == 64)
                #expect(json["source_file"] as? String == "embed_mask.k3.keras")
                #expect(json["format"] as? String == "keras")
                #expect(json["keras_version"] as? String != nil)
                #expect(json["imported_at"] as? String != nil)
                #expect(json["parameter_count"] as? Int == 584)
                let layers = try #require(json["layers"] as? [[String: Any]])
                #expect(layers.map { $0["class_name"] as? String } == ["Embedding", "LSTM", "LSTM", "Dense"])
            }
            #expect(try await client.get("/models/bidi").json["vocabulary"] is NSNull)
        }
    }

    @Test func layersListsTheLayerTableOfTheDefaultNamedAndVersionedModel() async throws {
        try await withServer { client in
            let byDefault = try await client.get("/layers").json
            #expect(byDefault["model"] as? String == "onehot")
            #expect((byDefault["layers"] as? [[String: Any]])?.map { $0["name"] as? String } == ["lstm", "dense"])
            #expect((byDefault["layers"] as? [[String: Any]])?.first?["parameter_count"] as? Int == 608)
            #expect(byDefault["parameter_count"] as? Int == 698)
            for uri in ["/models/bidi/layers", "/models/bidi/versions/1/layers"] {
                let json = try await client.get(uri).json
                #expect((json["layers"] as? [[String: Any]])?.map { $0["class_name"] as? String } == ["Embedding", "Bidirectional", "Bidirectional", "Dense"])
            }
        }
    }

    @Test func predictRunsTheDefaultNamedAndVersionedModel() async throws {
        try await withServer { client in
            for uri in ["/predict", "/models/onehot/predict", "/models/onehot/versions/1/predict"] {
                let response = try await client.post(uri, oneHotInputs(batch: 2))
                #expect(response.status == .ok, "\(uri): \(response.text)")
                let outputs = try #require(response.json["outputs"] as? [[Double]])
                #expect(outputs.count == 2 && outputs[0].count == 10)
                #expect(abs(outputs[0].reduce(0, +) - 1) < 1e-4)
                #expect(response.json["model"] as? String == "onehot" && response.json["version"] as? Int == 1)
            }
        }
    }

    @Test func predictEncodesTextAndListsTopK() async throws {
        try await withServer { client in
            let response = try await client.post("/predict", #"{"text": ["abcdef", "jihgfe"], "top_k": 3}"#)
            #expect(response.status == .ok, "\(response.text)")
            let topK = try #require(response.json["top_k"] as? [[[String: Any]]])
            #expect(topK.count == 2 && topK.allSatisfy { $0.count == 3 })
            let embedded = try await client.post("/models/embed/predict", #"{"text": ["abcdefg"], "top_k": 1}"#)
            #expect(embedded.status == .ok, "\(embedded.text)")
        }
    }

    @Test func layerOutputReturnsTheLayerAndItsStates() async throws {
        try await withServer { client in
            let lstm = try await client.post("/layers/lstm/output", #"{"text": ["abcdef"], "states": true}"#)
            #expect(lstm.status == .ok, "\(lstm.text)")
            #expect(lstm.json["layer"] as? String == "lstm")
            let states = try #require(lstm.json["states"] as? [String: Any])
            #expect((states["h"] as? [[Double]])?.first?.count == 8)
            #expect((states["c"] as? [[Double]])?.first?.count == 8)
            let sequences = try await client.post("/models/embed/layers/lstm/output", #"{"inputs": [[1, 2, 3, 0, 0, 0, 0]]}"#)
            #expect((sequences.json["output"] as? [[[Double]]])?.first?.count == 7)
            let bidi = try await client.post("/models/bidi/versions/1/layers/bidirectional_1/output", #"{"inputs": [[1, 2, 3, 1, 2, 3, 0]], "states": true}"#)
            #expect(bidi.status == .ok, "\(bidi.text)")
            #expect(((bidi.json["states"] as? [String: Any])?["forward"] as? [String: Any])?["h"] != nil)
        }
    }

    @Test func curlsDefaultFormContentTypeIsAcceptedAsJSON() async throws {
        try await withServer { client in
            let response = try await client.post("/predict", #"{"text": ["abcdef"]}"#, contentType: "application/x-www-form-urlencoded")
            #expect(response.status == .ok)
            let missing = try await client.post("/predict", #"{"text": ["abcdef"]}"#, contentType: nil)
            #expect(missing.status == .ok)
            let charset = try await client.post("/predict", #"{"text": ["abcdef"]}"#, contentType: "application/json; charset=utf-8")
            #expect(charset.status == .ok)
        }
    }

    @Test func openAPIDocumentIsServed() async throws {
        try await withServer { client in
            let response = try await client.get("/openapi.json")
            #expect(response.status == .ok)
            #expect(response.json["openapi"] as? String == "3.1.0")
        }
    }
}
