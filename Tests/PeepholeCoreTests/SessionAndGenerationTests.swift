import Foundation
import Testing
@testable import PeepholeCore

@Suite struct SessionAndGenerationTests {
    let directory = Fixtures.temporaryDirectory()
    static let letters = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]

    private func model(_ file: String, vocabulary: [String]) throws -> LoadedModel {
        let store = try ModelStore(path: directory.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent(file).path), name: "m", vocabulary: vocabulary)
        return try store.load(model: "m")
    }

    private func request(_ body: String, _ model: LoadedModel, _ endpoint: InferenceRequest.Endpoint = .sessionStep) throws -> InferenceRequest {
        try InferenceRequest.decode(Array(body.utf8), for: model, endpoint: endpoint, limits: RequestLimits())
    }

    private func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
    }

    /// The defining property of a session, for unidirectional models (a Bidirectional layer's
    /// backward direction sees each chunk's end first, so chunks cannot equal one run there;
    /// its states are carried as Keras `stateful=True` carries them).
    @Test(arguments: ["embed_mask.k3.keras", "onehot.k3.keras", "functional_chain.k3.keras"])
    func twoChunksEqualOneWholeRun(_ file: String) throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let vocabulary = file.hasPrefix("onehot") ? Array(Self.letters.prefix(10)) : file.hasPrefix("functional") ? Array(Self.letters.prefix(6)) : Self.letters
        let model = try model(file, vocabulary: vocabulary)
        var session = SessionState(id: "s")
        _ = try session.step(model, try request(#"{"text": ["abcd", "dcba"]}"#, model))
        let second = try json(try session.step(model, try request(#"{"text": ["efa", "fea"]}"#, model)))
        #expect(second["step"] as? Int == 2)

        let whole = model.network.run(try request(#"{"text": ["abcdefa", "dcbafea"]}"#, model).input, states: Set(model.network.recurrentLayerIndices))
        let outputs = NumericArray(second["outputs"]!)
        #expect(zip(outputs.values, whole.output.data).allSatisfy { abs($0 - $1) < 1e-6 })
        for index in model.network.recurrentLayerIndices {
            switch (session.states[index], whole.states[index]) {
            case let (.lstm(a)?, .lstm(b)?):
                #expect(zip(a.c.data + a.h.data, b.c.data + b.h.data).allSatisfy { abs($0 - $1) < 1e-6 })
            default:
                Issue.record("missing states for layer \(index)")
            }
        }
        #expect(throws: PeepholeError.self) { try session.step(model, try request(#"{"text": ["abc"]}"#, model)) }
    }

    @Test func statesCanBeReadSetAndReset() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try model("embed_mask.k3.keras", vocabulary: Self.letters)
        var session = SessionState(id: "s")
        try session.update(model, body: Array(#"{"lstm_1": {"h": [[0.5, 0, 0, 0]]}}"#.utf8))
        #expect(session.batch == 1)
        var writer = JSONWriter()
        writer.beginObject()
        session.write(model, into: &writer)
        writer.endObject()
        let states = try json(writer.bytes)["states"] as! [String: [String: Any]]
        #expect(NumericArray(states["lstm_1"]!["h"]!).values == [0.5, 0, 0, 0])
        #expect(NumericArray(states["lstm"]!["c"]!).shape == [1, 6])
        #expect(throws: PeepholeError.self) { try session.update(model, body: Array(#"{"lstm_1": {"h": [[0.5, 0]]}}"#.utf8)) }
        #expect(throws: PeepholeError.self) { try session.update(model, body: Array(#"{"dense": {"h": [[0.5, 0, 0, 0]]}}"#.utf8)) }
        #expect(throws: PeepholeError.self) { try session.update(model, body: Array(#"{"nope": {}}"#.utf8)) }
        session.reset()
        #expect(session.states.isEmpty)
    }

    @Test func greedyGenerationEqualsRerunningTheWholeText() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try model("embed_mask.k3.keras", vocabulary: ["_"] + Self.letters.prefix(11))
        var generate = try Generation.Request.decode(Array(#"{"prompt": "abc", "length": 12, "temperature": 0}"#.utf8), limits: RequestLimits())
        let text = try Generation.generate(model, generate)
        #expect(text.unicodeScalars.count == 12)
        var rerun = "abc"
        for _ in 0..<12 {
            let output = model.network.run(try request("{\"text\": [\"\(rerun)\"]}", model, .predict).input).output.data
            rerun += model.info.vocabulary![output.firstIndex(of: output.max()!)!]
        }
        #expect("abc" + text == rerun)

        generate.temperature = 0.8
        generate.seed = 42
        let first = try Generation.generate(model, generate)
        #expect(try Generation.generate(model, generate) == first)
        generate.seed = 43
        generate.length = 200
        #expect(try Generation.generate(model, generate) != first)
        #expect(throws: PeepholeError.self) { try Generation.Request.decode(Array(#"{"prompt": ""}"#.utf8), limits: RequestLimits()) }
        #expect(throws: PeepholeError.self) { try Generation.Request.decode(Array(#"{"prompt": "a", "length": -1}"#.utf8), limits: RequestLimits()) }
        #expect(throws: PeepholeError.self) { try Generation.generate(model, Generation.Request(prompt: "xyz", seed: 1)) }
    }

    @Test func samplingFollowsTemperatureAndTopK() {
        var random = SplitMix64(seed: 7)
        let probabilities: [Float] = [0.1, 0.6, 0.3]
        #expect(Generation.sample(probabilities, temperature: 0, topK: 0, random: &random) == 1)
        #expect((0..<50).allSatisfy { _ in Generation.sample(probabilities, temperature: 1, topK: 1, random: &random) == 1 })
        let draws = (0..<3000).map { _ in Generation.sample(probabilities, temperature: 1, topK: 0, random: &random) }
        let share = Double(draws.filter { $0 == 2 }.count) / 3000
        #expect(abs(share - 0.3) < 0.04)
    }
}
