import Foundation
import Testing
@testable import PeepholeCore

/// The Functional graphs and the GRU, SimpleRNN, convolution, pooling, normalisation and merge
/// layers against what Keras recorded (`tools/fixtures/make_graph_fixtures.py`): every output of
/// every layer, named inputs and outputs, and each row computed alone as in its batch.
@Suite struct GraphParityTests {
    static let directory = Fixtures.own.appendingPathComponent("graphs")

    @Test func graphFixturesExist() {
        #expect(ParityCase.all(in: Self.directory).count >= 20)
    }

    @Test(arguments: ParityCase.all(in: Self.directory))
    func graphFixtureMatchesKeras(_ parity: ParityCase) throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: parity.expectedFile)) as! [String: Any]
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
        try store.importModel(try KerasModelFile.read(path: parity.modelFile.path), name: "fixture")
        let network = try store.load(model: "fixture").network

        let inputNames = expected["input_names"] as! [String], outputNames = expected["output_names"] as! [String]
        #expect(network.inputs.map(\.name) == inputNames || inputNames.count == 1)
        #expect(network.outputs.map(\.name) == outputNames)
        let recorded = expected["inputs"] as! [String: Any]
        let inputs = inputNames.map { NumericArray(recorded[$0]!).tensor }
        try network.validate(inputs: inputs)
        let everyLayer = Set(network.layers.indices)
        let result = network.run(inputs, capture: everyLayer, states: everyLayer)

        let predict = expected["predict"] as! [String: Any]
        for (index, name) in outputNames.enumerated() {
            let difference = try #require(maxDifference(result.outputs[index], NumericArray(predict[name]!)), "output \(name) shape \(result.outputs[index].shape)")
            #expect(difference <= Tolerance.output, "output \(name) differs by \(difference)")
        }
        var worst: (output: Float, state: Float) = (0, 0)
        defer {
            // `PEEPHOLE_PARITY_REPORT=1` prints the largest differences per file.
            if ProcessInfo.processInfo.environment["PEEPHOLE_PARITY_REPORT"] != nil {
                print("parity \(parity.modelFile.lastPathComponent): outputs \(worst.output), states \(worst.state)")
            }
        }
        let layers = expected["layers"] as! [String: [Any]]
        #expect(Set(layers.keys) == Set(network.layers.map(\.name)), "every layer is recorded and found")
        for (name, values) in layers {
            let index = try #require(network.layerIndex(named: name), "layer \(name)")
            let outputs = try #require(result.layerOutputTensors[index])
            #expect(outputs.count == values.count, "layer \(name) outputs")
            for (slot, (tensor, value)) in zip(outputs, values).enumerated() {
                if slot == 0 {
                    let difference = try #require(maxDifference(tensor, NumericArray(value)), "layer \(name) shape \(tensor.shape)")
                    #expect(difference <= Tolerance.output, "layer \(name) differs by \(difference)")
                    worst.output = max(worst.output, difference)
                } else {
                    worst.state = max(worst.state, maxDifference(tensor, NumericArray(value)) ?? .infinity)
                    // The states a layer returns (`return_state`) are its final states.
                    #expect(statesAgree(tensor, NumericArray(value)), "layer \(name) state \(slot)")
                    let finals = Array(result.states[index]!.directions.joined())
                    #expect(finals[slot - 1] == tensor, "layer \(name) state \(slot) is its final state")
                }
            }
        }
        expectRowsIndependentOfBatch(network, inputs, result)
    }

    private func expectRowsIndependentOfBatch(_ network: Network, _ inputs: [Tensor], _ batched: ForwardResult) {
        let everyLayer = Set(network.layers.indices)
        let ones = [Int](repeating: 1, count: inputs[0].shape[0])
        let rows = inputs.map { $0.split(batches: ones) }
        for row in ones.indices {
            let alone = network.run(rows.map { $0[row] }, capture: everyLayer, states: everyLayer)
            for index in everyLayer {
                for (slot, tensor) in alone.layerOutputTensors[index]!.enumerated() {
                    let inBatch = batched.layerOutputTensors[index]![slot].split(batches: ones)[row]
                    #expect(tensor.data.map(\.bitPattern) == inBatch.data.map(\.bitPattern), "row \(row) layer \(network.layers[index].name) output \(slot)")
                }
            }
        }
    }
}
