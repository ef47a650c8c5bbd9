import Foundation
import Testing
@testable import PeepholeCore

/// One Keras model file and the values Keras recorded for it.
struct ParityCase: CustomTestStringConvertible, Sendable {
    let modelFile: URL
    let expectedFile: URL
    var testDescription: String { modelFile.lastPathComponent }

    /// Every `X.expected.json` in `directory` paired with the model files `X.keras` and `X.h5`
    /// beside it (the `.keras` and `.h5` of one model share one expected file).
    static func all(in directory: URL) -> [ParityCase] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".expected.json") }.sorted().flatMap { expected in
            let stem = String(expected.dropLast(".expected.json".count))
            return names.filter { $0 == stem + ".keras" || $0 == stem + ".h5" }.sorted().map { ParityCase(modelFile: directory.appendingPathComponent($0), expectedFile: directory.appendingPathComponent(expected)) }
        }
    }
}

@Suite struct KerasParityTests {
    @Test func ownFixturesExist() {
        #expect(ParityCase.all(in: Fixtures.own).count >= 30)
    }

    @Test(arguments: ParityCase.all(in: Fixtures.own))
    func ownFixtureMatchesKeras(_ parity: ParityCase) throws {
        try check(parity)
    }

    /// The shared fixtures are an extra check; in a clone without `../shared` there are none.
    @Test(arguments: ParityCase.all(in: Fixtures.shared))
    func sharedFixtureMatchesKeras(_ parity: ParityCase) throws {
        try check(parity)
    }

    private func check(_ parity: ParityCase) throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: parity.expectedFile)) as! [String: Any]
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
        try store.importModel(try KerasModelFile.read(path: parity.modelFile.path), name: "fixture")
        let model = try store.load(model: "fixture")
        let network = model.network

        let input = NumericArray(expected["inputs"]!).tensor
        try network.validate(input)
        let everyLayer = Set(network.layers.indices)
        let result = network.run(input, capture: everyLayer, states: everyLayer)

        expectRowsIndependentOfBatch(network, input, result)

        let predictDifference = try #require(maxDifference(result.output, NumericArray(expected["predict"]!)), "predict shape \(result.output.shape)")
        #expect(predictDifference <= Tolerance.output, "predict differs by \(predictDifference)")

        let layers = expected["layers"] as! [String: Any]
        #expect(Set(layers.keys) == Set(network.layers.map(\.name)), "every layer is recorded and found")
        for (name, values) in layers {
            let index = try #require(network.layerIndex(named: name), "layer \(name)")
            let output = try #require(result.layerOutputs[index])
            let difference = try #require(maxDifference(output, NumericArray(values)), "layer \(name) shape \(output.shape)")
            #expect(difference <= Tolerance.output, "layer \(name) differs by \(difference)")
        }

        for (name, recorded) in expected["states"] as? [String: [String: Any]] ?? [:] {
            let index = try #require(network.layerIndex(named: name), "layer \(name)")
            let state = try #require(result.states[index], "no states for \(name)")
            let names = network.layers[index].stateNames
            for (direction, directionName) in (network.layers[index].directionNames ?? [""]).enumerated() {
                let directionRecorded = directionName.isEmpty ? recorded : recorded[directionName] as! [String: Any]
                for (slot, stateName) in names.enumerated() {
                    #expect(statesAgree(state.directions[direction][slot], NumericArray(directionRecorded[stateName]!)), "\(name).\(directionName).\(stateName)")
                }
            }
        }

        for extra in expected["extra_inputs"] as? [[String: Any]] ?? [] {
            let other = NumericArray(extra["inputs"]!).tensor
            try network.validate(other)
            let difference = try #require(maxDifference(network.run(other).output, NumericArray(extra["predict"]!)))
            #expect(difference <= Tolerance.output, "input of shape \(other.shape) differs by \(difference)")
        }
    }

    /// Each sequence run alone gives the same bits, in every layer's output and state, as it
    /// does inside the batch: what lets the server batch requests together.
    private func expectRowsIndependentOfBatch(_ network: Network, _ input: Tensor, _ batched: ForwardResult) {
        let everyLayer = Set(network.layers.indices)
        let ones = [Int](repeating: 1, count: input.shape[0])
        let outputs = batched.output.split(batches: ones)
        let layerOutputs = batched.layerOutputs.mapValues { $0.split(batches: ones) }
        for (row, sequence) in input.split(batches: ones).enumerated() {
            let alone = network.run(sequence, capture: everyLayer, states: everyLayer)
            #expect(alone.output.data.map(\.bitPattern) == outputs[row].data.map(\.bitPattern), "row \(row) output")
            for index in everyLayer {
                #expect(alone.layerOutputs[index]!.data.map(\.bitPattern) == layerOutputs[index]![row].data.map(\.bitPattern), "row \(row) layer \(index)")
            }
        }
    }
}
