import Foundation
import Testing
@testable import PeepholeCore

/// Functional configurations read into graphs, and what is refused at import, naming the layer,
/// its class and the option.
@Suite struct GraphImportTests {
    private func tensor(_ layer: String, _ tensor: Int = 0) -> [String: Any] {
        ["class_name": "__keras_tensor__", "config": ["keras_history": [layer, 0, tensor]]]
    }

    private func input(_ name: String, _ shape: [Any]) -> [String: Any] {
        ["class_name": "InputLayer", "name": name, "config": ["name": name, "batch_shape": [NSNull()] + shape], "inbound_nodes": []]
    }

    private func layer(_ className: String, _ name: String, _ config: [String: Any], args: [Any], kwargs: [String: Any] = [:],
                       module: String = "keras.layers") -> [String: Any] {
        ["module": module, "class_name": className, "name": name, "config": config.merging(["name": name]) { $1 },
         "inbound_nodes": [["args": args, "kwargs": kwargs]]]
    }

    private func model(_ layers: [[String: Any]], inputs: [String], outputs: [[Any]]) -> [String: Any] {
        ["class_name": "Functional", "config": ["layers": layers, "input_layers": inputs.map { [$0, 0, 0] }, "output_layers": outputs]]
    }

    private func refusal(_ config: [String: Any]) -> String {
        do {
            _ = try KerasArchitecture.parse(modelConfig: config, kerasMajor: 3)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func seq2seqWiresStatesAndTwoInputs() throws {
        let config = model([
            input("encoder_inputs", [5, 4]), input("decoder_inputs", [4, 3]),
            layer("LSTM", "encoder", ["units": 6, "return_state": true], args: [tensor("encoder_inputs")]),
            layer("GRU", "decoder", ["units": 6, "return_sequences": true], args: [tensor("decoder_inputs")],
                  kwargs: ["initial_state": [tensor("encoder", 1)]]),
        ], inputs: ["encoder_inputs", "decoder_inputs"], outputs: [["decoder", 0, 0], ["encoder", 0, 2]])
        let architecture = try KerasArchitecture.parse(modelConfig: config, kerasMajor: 3)
        #expect(architecture.graph.inputs.map(\.name) == ["encoder_inputs", "decoder_inputs"])
        #expect(architecture.graph.calls[1] == LayerCall(inputs: [.input(1)], initialState: [.layer(0, output: 1)]))
        #expect(architecture.graph.outputs.map(\.source) == [.layer(1, output: 0), .layer(0, output: 2)])
        #expect(try architecture.allOutputShapes()[0] == [[6], [6], [6]])
        #expect(!architecture.graph.isChain)
    }

    @Test func refusalsNameTheLayerAndWhatIsUnsupported() {
        let base = [input("x", [5, 4])]
        let lambda = model(base + [layer("Lambda", "double", [:], args: [tensor("x")])], inputs: ["x"], outputs: [["double", 0, 0]])
        #expect(refusal(lambda).contains("layer 'double': layer class Lambda is not supported"))

        let operation = model(base + [
            layer("Sin", "sin", [:], args: [tensor("x")], module: "keras.src.ops.numpy"),
            layer("Dense", "dense", ["units": 2], args: [tensor("sin")]),
        ], inputs: ["x"], outputs: [["dense", 0, 0]])
        #expect(refusal(operation).contains("layer 'dense'") && refusal(operation).contains("'sin' (Sin)"))

        var shared = layer("Dense", "dense", ["units": 4], args: [tensor("x")])
        shared["inbound_nodes"] = [["args": [tensor("x")], "kwargs": [:]], ["args": [tensor("dense")], "kwargs": [:]]]
        #expect(refusal(model(base + [shared], inputs: ["x"], outputs: [["dense", 1, 0]])).contains("layer 'dense': the layer is called 2 times"))

        let groups = model(base + [layer("Conv1D", "conv", ["filters": 2, "kernel_size": [3], "groups": 2], args: [tensor("x")])],
                           inputs: ["x"], outputs: [["conv", 0, 0]])
        #expect(refusal(groups) == "layer 'conv': Conv1D option groups=2 is not supported (only 1)")

        let merge = model(base + [input("y", [5, 3]), layer("Add", "add", [:], args: [[tensor("x"), tensor("y")]])],
                          inputs: ["x", "y"], outputs: [["add", 0, 0]])
        #expect(refusal(merge).hasPrefix("layer 'add': merges tensors of one shape"))

        let bidirectional = model(base + [layer("Bidirectional", "bidi", ["merge_mode": "concat", "layer": ["class_name": "Dense", "config": ["units": 2]]], args: [tensor("x")])],
                                  inputs: ["x"], outputs: [["bidi", 0, 0]])
        #expect(refusal(bidirectional).contains("Bidirectional(Dense) is not supported"))
    }

    @Test func shortInputsAreRefusedBeforeAConvolution() throws {
        let config = model([input("x", [NSNull(), 2]), layer("Conv1D", "conv", ["filters": 2, "kernel_size": 3], args: [tensor("x")])],
                           inputs: ["x"], outputs: [["conv", 0, 0]])
        let architecture = try KerasArchitecture.parse(modelConfig: config, kerasMajor: 3)
        let network = try Network(architecture: architecture, weights: [[NamedTensor(name: "kernel", tensor: Tensor(zeros: [3, 2, 2])), NamedTensor(name: "bias", tensor: Tensor(zeros: [2]))]])
        #expect(throws: PeepholeError.self) { try network.validate(Tensor(zeros: [1, 2, 2])) }
        try network.validate(Tensor(zeros: [1, 3, 2]))
        #expect(network.run(Tensor(zeros: [1, 3, 2])).output.shape == [1, 1, 2])
    }

    @Test func storeKeepsAGraphAndChainsAsBefore() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent("graphs/seq2seq.k3.keras").path), name: "seq2seq")
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent("seed_small.k3.keras").path), name: "chain")
        let graph = try store.versionInfo(model: "seq2seq")
        #expect(graph.inputs.map(\.name) == ["encoder_inputs", "decoder_inputs"])
        #expect(graph.inputs.map(\.shape) == [[5, 4], [4, 3]])
        #expect(graph.outputs.map(\.name) == ["decoder_dense"])
        #expect(graph.outputShape == [nil, 4, 3])
        let network = try store.load(model: "seq2seq").network
        #expect(network.inboundLayers(of: network.layerIndex(named: "decoder")!) == [network.layerIndex(named: "encoder")!])
        let chain = try store.versionInfo(model: "chain")
        #expect(chain.graph == nil)
        #expect(chain.outputs.map(\.name) == ["dense"] && chain.outputs[0].shape == [10])
    }

    @Test func mergeMasksFollowTheFilesKeras() {
        let a: [Bool]? = [true, true, false], b: [Bool]? = [true, false, false]
        #expect(Merging.mergeMask([a, b], .any) == [true, true, false])
        #expect(Merging.mergeMask([a, b], .all) == [true, false, false])
        #expect(Merging.mergeMask([a, nil], .any) == nil)
        #expect(Merging.mergeMask([a, nil], .all) == a)
        let tensors = [Tensor(zeros: [1, 3, 2]), Tensor(zeros: [1, 3, 1])]
        #expect(Merging.concatenateMask(tensors, [b, nil], axis: 2, .any) == [true, true, true])
        #expect(Merging.concatenateMask(tensors, [b, nil], axis: 2, .all) == b)
        #expect(Merging.concatenateMask(tensors, [b, a], axis: 1, .any) == b! + a!)
    }

    /// A GRU run in two halves, the second from the first's final states, gives the bits of one
    /// whole run: what sessions and generation need from every recurrent kind.
    @Test func gruAndSimpleRNNContinueFromTheirStates() throws {
        for file in ["graphs/gru.k3.keras", "graphs/simple_rnn.k2.h5"] {
            let model = try KerasModelFile.read(path: Fixtures.own.appendingPathComponent(file).path)
            // No masked steps: a sequence split in two, through the first (forward) recurrent layer.
            let network = try Network(architecture: model.architecture, weights: model.weights)
            let input = network.inputs[0].dtype == .int32
                ? Tensor(shape: [2, 7], data: (0..<14).map { Float($0 % 5 + 1) })
                : Tensor(shape: [2, 6, 4], data: (0..<48).map { sin(Float($0)) })
            let steps = input.shape[1], half = steps / 2, width = input.data.count / (2 * steps)
            func cut(_ range: Range<Int>) -> Tensor {
                Tensor(shape: [2, range.count] + input.shape.dropFirst(2),
                       data: (0..<2).flatMap { row in input.data[((row * steps + range.lowerBound) * width)..<((row * steps + range.upperBound) * width)] })
            }
            let recurrent = network.recurrentLayerIndices.first!
            let whole = network.run(input, through: recurrent, states: [recurrent])
            let first = network.run(cut(0..<half), through: recurrent, states: [recurrent])
            let second = network.run(cut(half..<steps), through: recurrent, states: [recurrent], initialStates: [recurrent: first.states[recurrent]!])
            #expect(second.states[recurrent] == whole.states[recurrent], "\(file)")
        }
    }
}
