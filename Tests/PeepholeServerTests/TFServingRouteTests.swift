import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// The TensorFlow Serving REST routes answer as TF Serving does, with the Peephole API's numbers.
@Suite struct TFServingRouteTests {
    @Test func statusListsEveryVersionAvailable() async throws {
        try await withServer { client in
            for uri in ["/v1/models/onehot", "/v1/models/onehot/versions/1"] {
                let response = try await client.get(uri)
                #expect(response.status == .ok)
                let status = try #require((response.json["model_version_status"] as? [[String: Any]])?.first)
                #expect(status["version"] as? String == "1")
                #expect(status["state"] as? String == "AVAILABLE")
                #expect((status["status"] as? [String: Any])?["error_code"] as? String == "OK")
            }
            let unknown = try await client.get("/v1/models/nope")
            #expect(unknown.status == .notFound)
            #expect(unknown.protocolError == "unknown model 'nope'")
        }
    }

    @Test func metadataHasTheServingDefaultSignature() async throws {
        try await withServer { client in
            let json = try await client.get("/v1/models/embed/metadata").json
            #expect((json["model_spec"] as? [String: Any])?["name"] as? String == "embed")
            let signatures = (json["metadata"] as? [String: Any])?["signature_def"] as? [String: Any]
            let signature = try #require((signatures?["signature_def"] as? [String: Any])?["serving_default"] as? [String: Any])
            #expect(signature["method_name"] as? String == "tensorflow/serving/predict")
            let input = try #require((signature["inputs"] as? [String: Any])?["input"] as? [String: Any])
            #expect(input["dtype"] as? String == "DT_INT32")
            let dims = ((input["tensor_shape"] as? [String: Any])?["dim"] as? [[String: Any]])?.map { $0["size"] as? String }
            #expect(dims?.first == "-1")
            #expect((signature["outputs"] as? [String: Any])?["dense"] != nil)
            #expect(try await client.get("/v1/models/embed/versions/1/metadata").status == .ok)
        }
    }

    @Test func predictRowsAndColumnsMatchPredict() async throws {
        try await withServer { client in
            let input = oneHotFlat(batch: 2)
            let nested = oneHotJSON(input, batch: 2)
            let predicted = try await client.post("/predict", #"{"inputs": \#(nested)}"#).json["outputs"]
            let expected = flat(predicted)
            let rows = try await client.post("/v1/models/onehot:predict", #"{"instances": \#(nested)}"#)
            #expect(rows.status == .ok)
            #expect(close(flat(rows.json["predictions"]), expected))
            #expect((rows.json["predictions"] as? [[Any]])?.count == 2)
            // Each instance is one row, without the batch axis.
            let first = oneHotJSON(Array(input[..<60])).dropFirst().dropLast(), second = oneHotJSON(Array(input[60...])).dropFirst().dropLast()
            let named = try await client.post("/v1/models/onehot/versions/1:predict", #"{"signature_name": "serving_default", "instances": [{"input": \#(first)}, {"input": \#(second)}]}"#)
            #expect(named.status == .ok)
            #expect(close(flat(named.json["predictions"]), expected))
            let columns = try await client.post("/v1/models/onehot:predict", #"{"inputs": {"input": \#(nested)}}"#, contentType: nil)
            #expect(columns.status == .ok)
            #expect(close(flat(columns.json["outputs"]), expected))
            let text = try await client.post("/v1/models/onehot:predict", #"{"instances": ["abcdef"]}"#)
            #expect(close(flat(text.json["predictions"]), flat(try await client.post("/predict", #"{"text": ["abcdef"]}"#).json["outputs"])))
        }
    }

    @Test func badPredictsAreTFServingErrors() async throws {
        try await withServer { client in
            let nested = oneHotJSON(oneHotFlat(batch: 1))
            let signature = try await client.post("/v1/models/onehot:predict", #"{"signature_name": "other", "instances": \#(nested)}"#)
            #expect(signature.status == .badRequest)
            #expect(signature.protocolError?.hasPrefix("signature_name: serving signature name \"other\" not found") == true)
            let both = try await client.post("/v1/models/onehot:predict", #"{"instances": \#(nested), "inputs": \#(nested)}"#)
            #expect(both.protocolError == "inputs: send either instances or inputs, not both")
            let unknown = try await client.post("/v1/models/nope:predict", #"{"instances": \#(nested)}"#)
            #expect(unknown.status == .notFound)
            // Text is read as the Peephole API reads it; its errors name the field the client sent.
            let rows = try await client.post("/v1/models/onehot:predict", #"{"instances": ["abcdef", "abcxyz"]}"#)
            #expect(rows.status == .badRequest)
            #expect(rows.protocolError == "instances[1]: character 'x' (U+78) at position 3 is not in the vocabulary", "\(rows.protocolError ?? "")")
            let columns = try await client.post("/v1/models/onehot:predict", #"{"inputs": ["abcdef", "abc"]}"#)
            #expect(columns.protocolError?.hasPrefix("inputs[1]: has 3 characters, the first text has 6") == true, "\(columns.protocolError ?? "")")
            #expect(try await client.post("/v1/models/onehot:predict", #"{"instances": \#(nested)}"#).status == .ok)
        }
    }
}
