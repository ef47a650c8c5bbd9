import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

/// GRU and SimpleRNN layers are as inspectable as the LSTM: their states, per-step gates and
/// pre-activations through the Peephole API, against Keras' outputs and a numpy float64
/// reference of the GRU gates (`tools/fixtures/make_graph_fixtures.py`), sessions that carry
/// their `h`, and generation from a GRU character model.
@Suite struct RecurrentIntrospectionTests {
    let directory = Fixtures.temporaryDirectory()
    let direct = DirectAPI()

    /// The recorded fixture `graphs/<name>.expected.json`.
    private func recorded(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.own.appendingPathComponent("graphs/\(name).expected.json"))) as! [String: Any]
    }

    /// A body with the fixture's recorded inputs.
    private func body(_ recorded: [String: Any], _ options: String) throws -> String {
        let inputs = String(decoding: try JSONSerialization.data(withJSONObject: recorded["inputs"]!), as: UTF8.self)
        return #"{"inputs": \#(inputs), \#(options)}"#
    }

    /// Checks `h_t = z_t·h_{t-1} + (1 − z_t)·hh_t` at every step of every row (h_{-1} = 0) and
    /// that the last step is the final state.
    private func checkGRUIdentity(_ gates: [String: Any], sequence: Any, final: Any, _ label: String) {
        let z = NumericArray(gates["z"]!), hh = NumericArray(gates["hh"]!), h = NumericArray(sequence)
        let (batch, steps, units) = (h.shape[0], h.shape[1], h.shape[2])
        for row in 0..<batch {
            for step in 0..<steps {
                for unit in 0..<units {
                    let at = (row * steps + step) * units + unit
                    let previous = step == 0 ? 0 : h.values[at - units]
                    #expect(abs(h.values[at] - (z.values[at] * previous + (1 - z.values[at]) * hh.values[at])) < 1e-5, "\(label) row \(row) step \(step) unit \(unit)")
                }
            }
            let last = ((row + 1) * steps - 1) * units
            #expect(Array(h.values[last..<(last + units)]) == Array(NumericArray(final).values[(row * units)..<((row + 1) * units)]), "\(label): last step is the final h")
        }
    }

    @Test(arguments: ["char_gru.k3.keras", "char_gru.k3.h5", "char_gru.k2.h5"])
    func gruGatesMatchTheReferenceInBothVariants(_ file: String) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.model("graphs/\(file)", in: directory)
        let expected = try recorded("char_gru" + (file.contains(".k2.") ? ".k2" : ".k3"))
        let reference = expected["gates"] as! [String: [String: Any]]
        for (layer, variant) in [("gru", "reset_after"), ("gru_before", "reset_before")] {
            let answer = try await direct.layerOutput(layer, try body(expected, #""sequences": true, "gates": true, "preactivations": true, "states": true"#), model)
            #expect(answer["variant"] as? String == variant)
            let gates = try #require(answer["gates"] as? [String: Any])
            #expect(Set(gates.keys) == ["z", "r", "hh"], "\(layer): GRU gates")
            #expect(Set((answer["preactivations"] as? [String: Any] ?? [:]).keys) == ["z", "r", "hh"])
            for gate in ["z", "r", "hh"] {
                let mine = NumericArray(gates[gate]!), theirs = NumericArray(reference[layer]![gate]!)
                #expect(mine.shape == theirs.shape, "\(layer).\(gate)")
                let worst = zip(mine.values, theirs.values).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst <= Tolerance.output, "\(layer).\(gate) differs from the reference by \(worst)")
            }
            let sequence = NumericArray(answer["sequence"]!), h = NumericArray(reference[layer]!["h"]!)
            #expect(zip(sequence.values, h.values).allSatisfy { abs($0 - $1) <= Tolerance.state($1) }, "\(layer) h")
            let states = try #require(answer["states"] as? [String: Any])
            #expect(Set(states.keys) == ["h"], "a GRU's state is h alone")
            checkGRUIdentity(gates, sequence: answer["sequence"]!, final: states["h"]!, layer)
        }
    }

    @Test(arguments: ["gru.k3.keras", "gru.k2.h5"])
    func gruStatesAndGatesHoldUnderMasksAndGoBackwards(_ file: String) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.model("graphs/\(file)", in: directory)
        let expected = try recorded("gru" + (file.contains(".k2.") ? ".k2" : ".k3"))
        let layers = expected["layers"] as! [String: [Any]]
        for layer in ["gru_after", "gru_before", "gru_acts", "gru_state"] {
            let answer = try await direct.layerOutput(layer, try body(expected, #""sequences": true, "gates": true, "states": true"#), model)
            #expect(answer["order"] as? String == (layer == "gru_before" ? "processed" : "input"))
            let states = try #require(answer["states"] as? [String: Any])
            checkGRUIdentity(answer["gates"] as! [String: Any], sequence: answer["sequence"]!, final: states["h"]!, layer)
            let output = NumericArray(answer["output"]!), keras = NumericArray(layers[layer]![0])
            #expect(zip(output.values, keras.values).allSatisfy { abs($0 - $1) <= Tolerance.output }, "\(layer) output")
        }
        // gru_state returns its state (return_state): the states asked for are that tensor.
        let answer = try await direct.layerOutput("gru_state", try body(expected, #""states": true"#), model)
        let state = NumericArray((answer["states"] as! [String: Any])["h"]!), keras = NumericArray(layers["gru_state"]![1])
        #expect(zip(state.values, keras.values).allSatisfy { abs($0 - $1) <= Tolerance.state($1) })
    }

    @Test(arguments: ["simple_rnn.k3.keras", "simple_rnn.k2.h5"])
    func simpleRNNHasAStateAndNoGates(_ file: String) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.model("graphs/\(file)", in: directory)
        let expected = try recorded("simple_rnn" + (file.contains(".k2.") ? ".k2" : ".k3"))
        let answer = try await direct.layerOutput("rnn_state", try body(expected, #""sequences": true, "states": true"#), model)
        let states = try #require(answer["states"] as? [String: Any])
        #expect(Set(states.keys) == ["h"])
        let keras = NumericArray((expected["layers"] as! [String: [Any]])["rnn_state"]![1])
        #expect(zip(NumericArray(states["h"]!).values, keras.values).allSatisfy { abs($0 - $1) <= Tolerance.state($1) })
        let sequence = NumericArray(answer["sequence"]!)
        #expect(sequence.shape == [3, 7, 3])
        await #expect { try await direct.layerOutput("rnn", try body(expected, #""gates": true"#), model) } throws: { error in
            (error as? PeepholeError)?.description.hasPrefix("gates: layer 'rnn' is a SimpleRNN, which has no gates") == true
        }
    }

    @Test func bidirectionalGRUReportsEachDirection() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.model("graphs/bidi_gru.k3.keras", in: directory)
        let expected = try recorded("bidi_gru.k3")
        let answer = try await direct.layerOutput("bidi_gru", try body(expected, #""sequences": true, "gates": true, "states": true"#), model)
        let states = try #require(answer["states"] as? [String: [String: Any]])
        #expect(Set(states.keys) == ["forward", "backward"] && states.values.allSatisfy { Set($0.keys) == ["h"] })
        let gates = try #require(answer["gates"] as? [String: [String: Any]])
        #expect(answer["order"] as? [String: String] == ["forward": "input", "backward": "processed"])
        for direction in ["forward", "backward"] {
            let sequence = (answer["sequence"] as! [String: Any])[direction]!
            checkGRUIdentity(gates[direction]!, sequence: sequence, final: states[direction]!["h"]!, "bidi_gru.\(direction)")
        }
    }

    @Test func sessionsCarryEveryGRUStateAndGenerationRunsOnAGRU() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let letters = "abcdefgh".map(String.init)
        let model = try Fixtures.model("graphs/char_gru.k3.keras", vocabulary: letters, in: directory)
        let session = TestSession(model)
        _ = try await direct.step(#"{"text": ["abcd", "hgfe"]}"#, session)
        let second = try await direct.step(#"{"text": ["efa", "dcb"]}"#, session)
        let whole = model.network.run(try direct.input(#"{"text": ["abcdefa", "hgfedcb"]}"#, model), states: Set(model.network.recurrentLayerIndices))
        #expect(zip(NumericArray(second["outputs"]!).values, whole.output.data).allSatisfy { abs($0 - $1) < 1e-6 })
        let described = try DirectAPI.object(direct.api.describe(session))
        let states = try #require(described["states"] as? [String: [String: Any]])
        #expect(Set(states.keys) == ["gru", "gru_before"] && states.values.allSatisfy { Set($0.keys) == ["h"] })
        #expect(throws: PeepholeError.self) { try direct.setStates(#"{"gru": {"c": [[0,0,0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0,0,0]]}}"#, session) }
        _ = try direct.setStates(#"{"gru_before": {"h": [[0.5,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,-0.5]]}}"#, session)
        let set = try DirectAPI.object(direct.api.describe(session))
        #expect(NumericArray(((set["states"] as! [String: [String: Any]])["gru_before"]!)["h"]!).values.first == 0.5)

        // Every layer steps on its own: one step per character from the carried states equals
        // rerunning the whole text.
        var options = Generation.Options(prompt: "abc", seed: 1)
        options.length = 10
        options.temperature = 0
        let text = try Generation.generate(model, options)
        #expect(text.unicodeScalars.count == 10)
        #expect("abc" + text == greedyRerun(model, prompt: "abc", length: 10))
    }

    @Test func generationRerunsTheTextWhenAConvolutionSpansSteps() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.model("graphs/char_cnn.k3.keras", vocabulary: "abcdefgh".map(String.init), in: directory)
        var options = Generation.Options(prompt: "hab", seed: 3)
        options.length = 8
        options.temperature = 0
        #expect("hab" + (try Generation.generate(model, options)) == greedyRerun(model, prompt: "hab", length: 8))
    }

    /// The prompt and `length` greedy characters, each from a run over the whole text so far.
    private func greedyRerun(_ model: LoadedModel, prompt: String, length: Int) -> String {
        var text = prompt
        for _ in 0..<length {
            let output = model.network.run(try! model.encode(texts: [text])).output.data
            text += model.info.vocabulary![output.firstIndex(of: output.max()!)!]
        }
        return text
    }
}
