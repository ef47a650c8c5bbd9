import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Models with several inputs and outputs, and GRU layers, through the KServe V2 and TF Serving
/// routes, against what Keras recorded.
@Suite struct GraphProtocolTests {
    static let gru = FixtureModel(file: "graphs/gru.k3.keras", name: "gru", vocabulary: nil)

    /// The test configuration without a default model (the store has no `onehot`).
    static var config: ServerConfig {
        var config = ServerConfig.test
        config.defaultModel = nil
        return config
    }

    /// The recorded fixture `graphs/<name>.k3.expected.json`.
    private func recorded(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.keras.appendingPathComponent("graphs/\(name).k3.expected.json"))) as! [String: Any]
    }

    private func json(_ value: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: value), as: UTF8.self)
    }

    /// Every number of `value`, flattened, as floats.
    private func floats(_ value: Any?) -> [Float] {
        value.map { numbers(in: $0).map(Float.init) } ?? []
    }

    private func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && !a.isEmpty && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    /// A V2 input of the recorded values of `name`.
    private func v2Input(_ name: String, _ value: Any, datatype: String = "FP32") -> String {
        var shape: [Int] = []
        var probe: Any = value
        while let array = probe as? [Any] { shape.append(array.count); probe = array.first as Any }
        return #"{"name": "\#(name)", "shape": \#(shape), "datatype": "\#(datatype)", "data": \#(json(value))}"#
    }

    @Test func v2ListsAndTakesEveryInputAndGivesEveryOutputByName() async throws {
        let expected = try recorded("two_heads")
        let inputs = expected["inputs"] as! [String: Any], recorded = expected["predict"] as! [String: Any]
        let predict = ["cls": floats(recorded["cls"]), "reg": floats(recorded["reg"])]
        let body = #"{"inputs": [\#(v2Input("side", inputs["side"]!)), \#(v2Input("sequence", inputs["sequence"]!))]}"#
        let sideOnly = #"{"inputs": [\#(v2Input("side", inputs["side"]!))]}"#
        try await withServer(models: [.twoHeads], config: Self.config) { client in
            let metadata = try await client.get("/v2/models/two_heads").json
            #expect((metadata["inputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["sequence", "side"])
            #expect((metadata["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["cls", "reg"])
            #expect((metadata["inputs"] as? [[String: Any]])?[1]["shape"] as? [Int] == [-1, 5])

            let response = try await client.v2("/v2/models/two_heads/infer", body)
            #expect(response.status == .ok)
            let (answer, outputs) = response.v2
            #expect((answer["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["cls", "reg"])
            for name in ["cls", "reg"] { #expect(close(outputs[name] ?? [], predict[name]!), "\(name)") }

            let one = try await client.v2("/v2/models/two_heads/infer", String(body.dropLast()) + #", "outputs": [{"name": "reg"}]}"#)
            #expect(one.v2.outputs.keys.sorted() == ["reg"])
            #expect(close(one.v2.outputs["reg"] ?? [], predict["reg"]!))

            let missing = try await client.v2("/v2/models/two_heads/infer", sideOnly)
            #expect(missing.status == .badRequest)
            #expect(missing.protocolError?.contains("missing input 'sequence'") == true)
        }
    }

    @Test func v2OutputsOfAGRUModelAreItsStatesGatesAndStateOutput() async throws {
        let expected = try recorded("gru")
        let inputs = expected["inputs"] as! [String: Any], layers = expected["layers"] as! [String: [Any]]
        let input = v2Input("features", inputs["features"]!)
        let (state, head, sequence) = (floats(layers["gru_state"]![1]), floats(layers["head"]![0]), floats(layers["gru_after"]![0]))
        try await withServer(models: [Self.gru], config: Self.config) { client in
            // gru_state is a model output: the GRU's returned state (its output tensor 1), as Keras names it.
            let body = #"{"inputs": [\#(input)], "outputs": [{"name": "gru_state"}, {"name": "gru_state/h"}, {"name": "head"}, {"name": "gru_after/gates/z"}, {"name": "gru_after/sequence"}]}"#
            let response = try await client.v2("/v2/models/gru/infer", body)
            #expect(response.status == .ok)
            let outputs = response.v2.outputs
            #expect(close(outputs["gru_state"] ?? [], state))
            #expect(outputs["gru_state/h"] == outputs["gru_state"])
            #expect(close(outputs["head"] ?? [], head))
            #expect(close(outputs["gru_after/sequence"] ?? [], sequence))
            #expect(outputs["gru_after/gates/z"]?.allSatisfy { (0...1).contains($0) } == true)

            let cell = try await client.v2("/v2/models/gru/infer", #"{"inputs": [\#(input)], "outputs": [{"name": "gru_after/c"}]}"#)
            #expect(cell.status == .notFound)
            #expect(cell.protocolError?.contains("'gru_after/h'") == true)
        }
    }

    @Test func tfServingTakesNamedInstancesAndColumnsAndNamesEveryOutput() async throws {
        let expected = try recorded("two_heads")
        let inputs = expected["inputs"] as! [String: [Any]], recorded = expected["predict"] as! [String: [Any]]
        let predict = ["cls": floats(recorded["cls"]), "reg": floats(recorded["reg"])]
        let instances = json(["instances": (0..<3).map { row in ["sequence": inputs["sequence"]![row], "side": inputs["side"]![row]] }])
        let columnsBody = json(["inputs": inputs]), bareBody = json(["instances": inputs["side"]!])
        try await withServer(models: [.twoHeads], config: Self.config) { client in
            let rows = try await client.post("/v1/models/two_heads:predict", instances)
            #expect(rows.status == .ok)
            let predictions = try #require(rows.json["predictions"] as? [[String: Any]])
            #expect(predictions.count == 3)
            for name in ["cls", "reg"] {
                #expect(close(predictions.flatMap { floats($0[name]) }, predict[name]!), "\(name)")
            }

            let columns = try await client.post("/v1/models/two_heads:predict", columnsBody)
            let outputs = try #require(columns.json["outputs"] as? [String: Any])
            for name in ["cls", "reg"] { #expect(close(floats(outputs[name]), predict[name]!), "\(name)") }

            let bare = try await client.post("/v1/models/two_heads:predict", bareBody)
            #expect(bare.status == .badRequest)
            #expect(bare.protocolError?.contains("the model takes 2 inputs") == true)
        }
    }
}
