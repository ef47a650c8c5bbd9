import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

/// Interventions clamp a recurrent layer's states during the pass: what is clamped is what the
/// layer outputs and carries, the steps before are untouched, and requests without them are
/// unchanged.
@Suite struct InterventionTests {
    let directory = Fixtures.temporaryDirectory()
    let direct = DirectAPI()
    static let letters = "abcdefghij".map(String.init)

    private func onehot() throws -> LoadedModel {
        try Fixtures.model("onehot.k3.keras", vocabulary: Self.letters, in: directory)
    }

    @Test func clampingEveryHiddenUnitMakesTheOutputIndependentOfTheInput() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try onehot()
        let clamp = #""interventions": [{"layer": "lstm", "field": "h", "value": 0}]"#
        let layer = try await direct.layerOutput("lstm", #"{"text": ["abcdef", "jihgfe"], \#(clamp)}"#, model)
        #expect(NumericArray(layer["output"]!).values.allSatisfy { $0 == 0 })
        let predicted = NumericArray(try await direct.predict(#"{"text": ["abcdef", "jihgfe"], \#(clamp)}"#, model)["outputs"]!)
        #expect(predicted.values[0..<10] == predicted.values[10..<20], "both rows see h = 0")
        let plain = NumericArray(try await direct.predict(#"{"text": ["abcdef", "jihgfe"]}"#, model)["outputs"]!)
        #expect(plain.values[0..<10] != plain.values[10..<20])
    }

    @Test func aClampAtOneStepChangesThatStepAndWhatFollowsOnly() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try onehot()
        let ask = #""sequences": true, "gates": true"#
        let plain = try await direct.layerOutput("lstm", #"{"text": ["abcdef"], \#(ask)}"#, model)
        let clamped = try await direct.layerOutput("lstm", #"{"text": ["abcdef"], \#(ask), "interventions": [{"layer": "lstm", "field": "c", "units": [2, 5], "steps": {"from": 3, "to": 4}, "value": 0.75}]}"#, model)
        let (units, steps) = (8, 6)
        let c = NumericArray((clamped["gates"] as! [String: Any])["c"]!).values, c0 = NumericArray((plain["gates"] as! [String: Any])["c"]!).values
        let h = NumericArray(clamped["sequence"]!).values, h0 = NumericArray(plain["sequence"]!).values
        let o = NumericArray((clamped["gates"] as! [String: Any])["o"]!).values
        #expect(h[0..<(3 * units)] == h0[0..<(3 * units)], "the steps before are untouched")
        #expect(c[3 * units + 2] == 0.75 && c[3 * units + 5] == 0.75)
        #expect(c[3 * units + 1] == c0[3 * units + 1], "other units at the step are untouched")
        // The step's output is taken after the clamp: h = o·tanh(c) with the clamped c.
        #expect(abs(h[3 * units + 2] - o[3 * units + 2] * tanhf(0.75)) < 1e-6)
        #expect(h[(4 * units)..<(steps * units)] != h0[(4 * units)..<(steps * units)], "the clamped state carries on")
    }

    @Test func sessionsAndGenerationTakeInterventions() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.model("graphs/char_gru.k3.keras", vocabulary: "abcdefgh".map(String.init), in: directory)
        let clamp = #""interventions": [{"layer": "gru_before", "field": "h", "value": 0}]"#
        let session = TestSession(model)
        let step = NumericArray(try await direct.step(#"{"text": ["abc"], \#(clamp)}"#, session)["outputs"]!)
        let predicted = NumericArray(try await direct.predict(#"{"text": ["abc"], \#(clamp)}"#, model)["outputs"]!)
        #expect(step.values == predicted.values)

        // With the last GRU's h held at zero the output no longer depends on the text: greedy
        // generation repeats one character.
        let request = try PeepholeJSON.decode(GenerateRequest.self, from: Array(#"{"prompt": "abc", "length": 12, "temperature": 0, \#(clamp)}"#.utf8), limits: direct.api.limits)
        let text = try DirectAPI.object(try await direct.api.generate(request, model: model))["text"] as! String
        #expect(Set(text).count == 1 && text.count == 12)
    }

    @Test func badInterventionsNameTheFieldAndWhatWasExpected() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try onehot()
        let cases: [(String, String)] = [
            (#"[{"layer": "nope", "value": 0}]"#, "interventions[0].layer: model 'm' has no layer 'nope'"),
            (#"[{"layer": "dense", "value": 0}]"#, "interventions[0].layer: layer 'dense' is a Dense"),
            (#"[{"layer": "lstm", "field": "z", "value": 0}]"#, "interventions[0].field: expected one of h, c"),
            (#"[{"layer": "lstm", "units": [8], "value": 0}]"#, "interventions[0].units: unit 8 is out of range"),
            (#"[{"layer": "lstm", "value": "x"}]"#, "interventions[0].value: expected a number"),
            (#"[{"layer": "lstm"}]"#, "interventions[0].value: missing"),
            (#"[{"layer": "lstm", "value": 0, "steps": {"from": 4, "to": 2}}]"#, "interventions[0].steps: to (2) must be greater than from (4)"),
            (#"[{"layer": "lstm", "value": 0, "direction": "forward"}]"#, "interventions[0].direction: layer 'lstm' has one direction"),
            (#"{"layer": "lstm"}"#, "interventions: expected a list"),
        ]
        for (interventions, message) in cases {
            await #expect { try await direct.predict(#"{"text": ["abcdef"], "interventions": \#(interventions)}"#, model) } throws: { error in
                (error as? PeepholeError)?.description.hasPrefix(message) == true
            }
        }
    }
}
