import Foundation
import Testing
@testable import PeepholeCore

@Suite struct GenerationTests {
    let directory = Fixtures.temporaryDirectory()

    private func model(_ file: String, vocabulary: [String]) throws -> LoadedModel {
        let store = try ModelStore(path: directory.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent(file).path), name: "m", vocabulary: vocabulary)
        return try store.load(model: "m")
    }

    @Test func textIsEncodedAlikeWhetherAllASCIIOrNot() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        // ASCII text takes a table lookup, other text the general path: both give the same ids.
        let vocabulary = ["_", "a", "é", "c", "\u{00C5}", "d", " ", "e", "f", "g", "h", "i"]
        let model = try model("embed_mask.k3.keras", vocabulary: vocabulary)
        #expect(try model.encode(texts: ["a c_d"]).data == [1, 6, 3, 0, 5])
        #expect(try model.encode(texts: ["aéc\u{212B}d"]).data == [1, 2, 3, 4, 5])  // Ångström sign: Å
        #expect(try model.encode(texts: ["ace", "déc"]).data == [1, 3, 7, 5, 2, 3])
        #expect(throws: PeepholeError.invalidInput(field: "text[1]", message: "character 'z' (U+7A) at position 2 is not in the vocabulary")) {
            try model.encode(texts: ["ace", "adz"])
        }
    }

    @Test func greedyGenerationEqualsRerunningTheWholeText() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try model("embed_mask.k3.keras", vocabulary: ["_"] + "abcdefghijk".map(String.init))
        var generate = Generation.Options(prompt: "abc", seed: 1)
        generate.length = 12
        generate.temperature = 0
        let text = try Generation.generate(model, generate)
        #expect(text.unicodeScalars.count == 12)
        var rerun = "abc"
        for _ in 0..<12 {
            let output = model.network.run(try model.encode(texts: [rerun])).output.data
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
        #expect(throws: PeepholeError.self) { try Generation.generate(model, Generation.Options(prompt: "xyz", seed: 1)) }
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
