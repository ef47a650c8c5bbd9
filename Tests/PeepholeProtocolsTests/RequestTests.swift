import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

@Suite struct RequestTests {
    let directory = Fixtures.temporaryDirectory()

    let direct = DirectAPI()

    private func model(_ file: String, vocabulary: [String]? = nil) throws -> LoadedModel {
        try Fixtures.model(file, vocabulary: vocabulary, in: directory)
    }

    /// A body decoded for `endpoint` and its input checked against `model`, as every route does first.
    private func decode(_ body: String, _ model: LoadedModel, _ endpoint: Endpoint = .predict) throws -> Decoded {
        let bytes = Array(body.utf8), limits = direct.api.limits
        switch endpoint {
        case .predict:
            let request = try PeepholeJSON.decode(PredictRequest.self, from: bytes, limits: limits)
            return Decoded(input: try request.input.tensor(for: model, limits: limits))
        case .layerOutput:
            let request = try PeepholeJSON.decode(LayerOutputRequest.self, from: bytes, limits: limits)
            return Decoded(input: try request.input.tensor(for: model, limits: limits))
        }
    }

    enum Endpoint { case predict, layerOutput }

    /// What decoding gives a test to look at.
    struct Decoded { var input: Tensor }

    /// The message of the invalid-input error that decoding `body` throws, or nil.
    private func failure(_ body: String, _ model: LoadedModel, _ endpoint: Endpoint = .predict) -> String? {
        do {
            _ = try decode(body, model, endpoint)
            return nil
        } catch let error as PeepholeError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    @Test func badFloatInputsAreNamed() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let onehot = try model("onehot.k3.keras")
        let row = "[" + Array(repeating: "0", count: 10).joined(separator: ",") + "]"
        let sequence = "[" + Array(repeating: row, count: 6).joined(separator: ",") + "]"
        #expect(try decode("{\"inputs\": [\(sequence)]}", onehot).input.shape == [1, 6, 10])
        #expect(try decode("{\"inputs\": [\(sequence.replacingOccurrences(of: row + "]", with: row + "," + row + "]"))]}", onehot).input.shape == [1, 7, 10])
        #expect(failure("{\"inputs\": [\(sequence)", onehot)?.contains("malformed JSON") == true)
        #expect(failure("{}", onehot)?.hasPrefix("inputs: missing") == true)
        #expect(failure("[1]", onehot)?.contains("expected a JSON object") == true)
        #expect(failure("{\"inputs\": []}", onehot)?.contains("empty") == true)
        #expect(failure("{\"inputs\": [[[0,0,0]]]}", onehot)?.contains("axis 2 must have 10 values, got 3") == true)
        #expect(failure("{\"inputs\": [[0,0,0]]}", onehot)?.contains("expected 3 nested levels") == true)
        #expect(failure("{\"inputs\": [\(sequence), [[0]]]}", onehot)?.contains("ragged") == true)
        #expect(failure("{\"inputs\": [[[true,0,0,0,0,0,0,0,0,0]]]}", onehot)?.contains("inputs[0][0][0]: expected a number, got a boolean") == true)
        #expect(failure("{\"inputs\": [[[1e400,0,0,0,0,0,0,0,0,0]]]}", onehot)?.contains("not a finite float32") == true)
        #expect(failure("{\"inputs\": [[[NaN,0,0,0,0,0,0,0,0,0]]]}", onehot)?.contains("malformed JSON") == true)
        #expect(failure("{\"inputs\": [[[0]]], \"inputs\": [[[0]]]}", onehot)?.contains("duplicate key") == true)
        #expect(failure("{\"inputs\": [\(sequence)], \"top_k\": 0}", onehot)?.hasPrefix("top_k") == true)
        #expect(failure("{\"inputs\": [\(sequence)], \"gates\": true}", onehot)?.hasPrefix("gates: unknown field") == true)
        #expect(failure("{\"inputs\": [\(sequence)], \"states\": 1}", onehot, .layerOutput)?.hasPrefix("states: expected true or false") == true)
        #expect(failure(String(repeating: "[", count: 10_000), onehot)?.contains("nested deeper") == true)
    }

    @Test func tokenIdsMustBeIntegersInRange() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let embed = try model("embed_mask.k3.keras")
        #expect(try decode("{\"inputs\": [[1,2,3,0,0,0,0]]}", embed).input.data == [1, 2, 3, 0, 0, 0, 0])
        #expect(failure("{\"inputs\": [[1,2,3.5,0,0,0,0]]}", embed)?.contains("token id 3.5") == true)
        #expect(failure("{\"inputs\": [[1,2,12,0,0,0,0]]}", embed)?.contains("not an integer in 0..<12") == true)
        #expect(failure("{\"inputs\": [[-1,2,1,0,0,0,0]]}", embed)?.contains("token id -1.0") == true)
    }

    @Test func textIsEncodedWithTheVocabulary() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let embed = try model("embed_mask.k3.keras", vocabulary: ["_", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"])
        #expect(try decode("{\"text\": [\"abcabca\"]}", embed).input.data == [1, 2, 3, 1, 2, 3, 1])
        #expect(failure("{\"text\": [\"abz\"]}", embed)?.contains("character 'z' (U+7A) at position 2 is not in the vocabulary") == true)
        #expect(failure("{\"text\": [\"ab\", \"abc\"]}", embed)?.contains("equal length") == true)
        #expect(failure("{\"text\": [1]}", embed)?.contains("text[0]: expected a string") == true)

        let onehot = try model("onehot.k3.keras", vocabulary: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "\n"])
        let request = try decode("{\"text\": [\"ab\\nab\\n\"]}", onehot)
        #expect(request.input.shape == [1, 6, 10])
        #expect(request.input.data[9] == 0 && request.input.data[0] == 1 && request.input.data[2 * 10 + 9] == 1)
        let noVocabulary = try model("onehot.k3.keras")
        #expect(failure("{\"text\": [\"ab\"]}", noVocabulary)?.contains("has no vocabulary") == true)
    }

    @Test func responsesCarryTheRequestedParts() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let onehot = try model("onehot.k3.keras", vocabulary: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
        let predicted = try await direct.predict("{\"text\": [\"abcdef\", \"fedcba\"], \"top_k\": 3}", onehot)
        #expect(predicted["model"] as? String == "m")
        #expect(predicted["version"] as? Int == 1)
        let outputs = NumericArray(predicted["outputs"]!)
        #expect(outputs.shape == [2, 10])
        let topK = predicted["top_k"] as! [[[String: Any]]]
        #expect(topK.count == 2 && topK[0].count == 3)
        let best = outputs.values[0..<10].max()!
        #expect(abs((topK[0][0]["p"] as! NSNumber).floatValue - best) < 1e-7)
        #expect(topK[0][0]["token"] as? String == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"][outputs.values[0..<10].firstIndex(of: best)!])

        let body = "{\"text\": [\"abcdef\"], \"states\": true}"
        let layer = try await direct.layerOutput("lstm", body, onehot)
        let states = layer["states"] as! [String: Any]
        #expect(NumericArray(layer["output"]!).values == NumericArray(states["h"]!).values)
        #expect(NumericArray(states["c"]!).shape == [1, 8])
        await #expect(throws: PeepholeError.unknownLayer(model: "m", layer: "nope")) { try await direct.layerOutput("nope", body, onehot) }
        await #expect(throws: PeepholeError.self) { try await direct.layerOutput("dense", body, onehot) }
    }

    @Test func generateBodiesAreChecked() throws {
        #expect(throws: PeepholeError.self) { try PeepholeJSON.decode(GenerateRequest.self, from: Array(#"{"prompt": ""}"#.utf8), limits: RequestLimits()) }
        #expect(throws: PeepholeError.self) { try PeepholeJSON.decode(GenerateRequest.self, from: Array(#"{"prompt": "a", "length": -1}"#.utf8), limits: RequestLimits()) }
        let request = try PeepholeJSON.decode(GenerateRequest.self, from: Array(#"{"prompt": "abc", "length": 12, "temperature": 0}"#.utf8), limits: RequestLimits())
        #expect(request.options.prompt == "abc" && request.options.length == 12 && request.options.temperature == 0)
    }
}
