import Foundation
import Testing
@testable import PeepholeCore

/// The bundled demo store (`models/peephole.sqlite`) holds exactly what importing the committed
/// `models/chars.keras` gives, and both compute what Keras recorded in `models/chars.expected.json`.
@Suite struct DemoModelTests {
    static let models = Fixtures.root.deletingLastPathComponent().appendingPathComponent("models")

    @Test func committedStoreEqualsAFreshImportAndKeras() throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.models.appendingPathComponent("chars.expected.json"))) as! [String: Any]
        let committed = try ModelStore(path: Self.models.appendingPathComponent("peephole.sqlite").path, access: .readOnly).load(model: "chars")

        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fresh = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
        let vocabulary = try Vocabulary.tokens(from: Self.models.appendingPathComponent("chars.vocab.json").path)
        try fresh.importModel(try KerasModelFile.read(path: Self.models.appendingPathComponent("chars.keras").path), name: "chars", vocabulary: vocabulary)
        let imported = try fresh.load(model: "chars")

        #expect(committed.info.vocabulary == vocabulary)
        #expect(committed.info.sourceSHA256 == imported.info.sourceSHA256)
        #expect(committed.info.layers == imported.info.layers)

        // The recorded texts, encoded with the stored vocabulary, are the recorded inputs.
        let input = try committed.encode(texts: expected["text"] as! [String])
        #expect(input == NumericArray(expected["inputs"]!).tensor)

        let fromCommitted = committed.network.run(input, capture: [0], states: [0])
        let fromImport = imported.network.run(input, capture: [0], states: [0])
        #expect(fromCommitted.output == fromImport.output)
        #expect(fromCommitted.states[0] == fromImport.states[0])
        let difference = try #require(maxDifference(fromCommitted.output, NumericArray(expected["predict"]!)))
        #expect(difference <= Tolerance.output)
        let layers = expected["layers"] as! [String: Any]
        #expect(try #require(maxDifference(fromCommitted.layerOutputs[0]!, NumericArray(layers["lstm"]!))) <= Tolerance.output)
        let states = (expected["states"] as! [String: [String: Any]])["lstm"]!
        let state = try #require(fromCommitted.states[0]?.directions[0], "no LSTM state")
        #expect(statesAgree(state[0], NumericArray(states["h"]!)))
        #expect(statesAgree(state[1], NumericArray(states["c"]!)))
    }
}
