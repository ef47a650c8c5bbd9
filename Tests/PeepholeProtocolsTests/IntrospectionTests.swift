import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

/// Per-step internals: identities that must hold at every step, filters, and initial states.
@Suite struct IntrospectionTests {
    let directory = Fixtures.temporaryDirectory()

    private func model(_ file: String) throws -> LoadedModel {
        let store = try ModelStore(path: directory.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent(file).path), name: "m")
        return try store.load(model: "m")
    }

    private func layer(_ model: LoadedModel, _ name: String, _ body: String) async throws -> [String: Any] {
        try await DirectAPI().layerOutput(name, body, model)
    }

    /// Checks c_t = f_t·c_{t-1} + i_t·g_t and h_t = o_t·act(c_t) at every recorded step,
    /// and that the last step equals the final state.
    private func checkIdentities(gates: [String: Any], sequence: Any, states: [String: Any], activation: (Float) -> Float) {
        let i = NumericArray(gates["i"]!), f = NumericArray(gates["f"]!), g = NumericArray(gates["g"]!)
        let o = NumericArray(gates["o"]!), c = NumericArray(gates["c"]!), h = NumericArray(sequence)
        let (batch, steps, units) = (c.shape[0], c.shape[1], c.shape[2])
        for row in 0..<batch {
            for step in 0..<steps {
                for unit in 0..<units {
                    let at = (row * steps + step) * units + unit
                    let previous = step == 0 ? 0 : c.values[at - units]
                    #expect(abs(c.values[at] - (f.values[at] * previous + i.values[at] * g.values[at])) < 1e-5)
                    #expect(abs(h.values[at] - o.values[at] * activation(c.values[at])) < 1e-5)
                }
            }
            let last = ((row + 1) * steps - 1) * units
            #expect(Array(h.values[last..<(last + units)]) == Array(NumericArray(states["h"]!).values[(row * units)..<((row + 1) * units)]))
            #expect(Array(c.values[last..<(last + units)]) == Array(NumericArray(states["c"]!).values[(row * units)..<((row + 1) * units)]))
        }
    }

    @Test func gatesSatisfyTheLSTMEquationsWithMasking() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let embed = try model("embed_mask.k3.keras")
        let response = try await layer(embed, "lstm", #"{"inputs": [[3,4,0,5,0,0,0],[1,2,3,4,5,6,7]], "sequences": true, "gates": true, "states": true}"#)
        #expect(response["order"] as? String == "input")
        checkIdentities(gates: response["gates"] as! [String: Any], sequence: response["sequence"]!,
                        states: response["states"] as! [String: Any], activation: tanhf)
        // A masked step holds the cell: h repeats.
        let h = NumericArray(response["sequence"]!)
        #expect(h.values[(2 * 6)..<(3 * 6)] == h.values[(1 * 6)..<(2 * 6)])
    }

    @Test func backwardsAndBidirectionalLayersReportProcessedOrder() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = try model("lstm_options.k3.keras")
        let single = try await layer(options, "lstm", #"{"inputs": [[[0.1,0.2,0.3],[0.3,0.1,0.5],[0.9,0.1,0.1],[0.2,0.2,0.2],[0.5,0.4,0.3],[0.1,0.1,0.1]]], "sequences": true, "gates": true, "states": true}"#)
        #expect(single["order"] as? String == "processed")
        checkIdentities(gates: single["gates"] as! [String: Any], sequence: single["sequence"]!,
                        states: single["states"] as! [String: Any], activation: tanhf)
        // With return_sequences and go_backwards, Keras outputs in processed order too.
        #expect(NumericArray(single["output"]!).values == NumericArray(single["sequence"]!).values)

        let bidi = try model("bidi_concat.k3.keras")
        let both = try await layer(bidi, "bidirectional", #"{"inputs": [[3,4,5,6,0,0,0]], "sequences": true, "gates": true, "states": true}"#)
        #expect(both["order"] as? [String: String] == ["forward": "input", "backward": "processed"])
        let gates = both["gates"] as! [String: Any], sequence = both["sequence"] as! [String: Any], states = both["states"] as! [String: Any]
        for direction in ["forward", "backward"] {
            checkIdentities(gates: gates[direction] as! [String: Any], sequence: sequence[direction]!,
                            states: states[direction] as! [String: Any], activation: tanhf)
        }
    }

    @Test func filtersSelectUnitsAndSteps() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let embed = try model("embed_mask.k3.keras")
        let input = #""inputs": [[3,4,1,5,2,7,8],[1,2,3,4,5,6,7]]"#
        let full = try await layer(embed, "lstm", "{\(input), \"sequences\": true, \"gates\": true, \"preactivations\": true}")
        let part = try await layer(embed, "lstm", "{\(input), \"sequences\": true, \"gates\": true, \"preactivations\": true, \"units\": [4, 1], \"steps\": {\"from\": 2, \"to\": -1}}")
        #expect(part["units"] as? [Int] == [4, 1])
        #expect(part["steps"] as? [String: Int] == ["from": 2, "to": 6])
        let fullH = NumericArray(full["sequence"]!), partH = NumericArray(part["sequence"]!)
        #expect(partH.shape == [2, 4, 2])
        for row in 0..<2 {
            for step in 0..<4 {
                for (slot, unit) in [4, 1].enumerated() {
                    #expect(partH.values[(row * 4 + step) * 2 + slot] == fullH.values[(row * 7 + step + 2) * 6 + unit])
                }
            }
        }
        let preactivations = part["preactivations"] as! [String: Any]
        #expect(NumericArray(preactivations["f"]!).shape == [2, 4, 2])
        await #expect(throws: PeepholeError.self) { try await layer(embed, "lstm", "{\(input), \"gates\": true, \"units\": [6]}") }
        await #expect(throws: PeepholeError.self) { try await layer(embed, "dense", "{\(input), \"gates\": true}") }
        await #expect(throws: PeepholeError.self) { try await layer(embed, "lstm", "{\(input), \"units\": [1]}") }
    }

    @Test func initialStateContinuesASplitSequence() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let embed = try model("embed_mask.k3.keras")
        let first = try await layer(embed, "lstm", #"{"inputs": [[3,4,1]], "states": true}"#)
        let states = first["states"] as! [String: Any]
        let stateJSON = String(decoding: try JSONSerialization.data(withJSONObject: states), as: UTF8.self)
        let second = try await layer(embed, "lstm", "{\"inputs\": [[5,2,7,8]], \"states\": true, \"initial_state\": \(stateJSON)}")
        let wholeFirst = try await layer(embed, "lstm", #"{"inputs": [[3,4,1,5,2,7,8]], "states": true}"#)
        let a = NumericArray((wholeFirst["states"] as! [String: Any])["c"]!), b = NumericArray((second["states"] as! [String: Any])["c"]!)
        #expect(zip(a.values, b.values).allSatisfy { abs($0 - $1) < 1e-6 })
        await #expect(throws: PeepholeError.self) { try await layer(embed, "lstm", #"{"inputs": [[5,2]], "initial_state": {"h": [[0,0]]}}"#) }
        await #expect(throws: PeepholeError.self) { try await layer(embed, "lstm", #"{"inputs": [[5,2]], "initial_state": {"x": 1}}"#) }
    }
}
