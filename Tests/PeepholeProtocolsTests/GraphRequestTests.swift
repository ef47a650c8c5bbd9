import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

/// Models with several inputs and outputs through the Peephole JSON API: inputs by name, outputs
/// by Keras' output names, and the metadata that lists both.
@Suite struct GraphRequestTests {
    let directory = Fixtures.temporaryDirectory()
    let direct = DirectAPI()

    /// The fixture's recorded inputs as a named `inputs` body, and what Keras predicted.
    private func recorded(_ file: String) throws -> (body: String, expected: [String: Any], inputs: [String], outputs: [String]) {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.own.appendingPathComponent("graphs/\(file).expected.json"))) as! [String: Any]
        let inputs = json["inputs"] as! [String: Any]
        let body = try JSONSerialization.data(withJSONObject: ["inputs": inputs])
        return (String(decoding: body, as: UTF8.self), json["predict"] as! [String: Any], json["input_names"] as! [String], json["output_names"] as! [String])
    }

    @Test(arguments: ["seq2seq.k3.keras", "two_heads.k3.keras", "two_heads.k2.h5"])
    func namedInputsGiveEveryOutputByName(_ file: String) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = String(file.prefix { $0 != "." })
        let model = try Fixtures.model("graphs/\(file)", in: directory)
        let (body, expected, inputs, outputs) = try recorded(name + (file.contains(".k2.") ? ".k2" : ".k3"))
        let answer = try await direct.predict(body, model)
        // One output is a plain array, as for any model; several are an object by output name.
        let byName = try #require(outputs.count == 1 ? [outputs[0]: answer["outputs"]!] : answer["outputs"] as? [String: Any])
        #expect(Set(byName.keys) == Set(outputs))
        for output in outputs {
            let got = NumericArray(byName[output]!), want = NumericArray(expected[output] as Any)
            #expect(got.shape == want.shape, "\(output)")
            #expect(zip(got.values, want.values).allSatisfy { abs($0 - $1) <= Tolerance.output }, "\(output)")
        }
        let metadata = try DirectAPI.object(VersionResponse(model))
        #expect((metadata["inputs"] as? [[String: Any]])?.map { $0["name"] as? String } == inputs)
        #expect((metadata["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == outputs)
    }

    @Test func aSeveralInputModelNamesWhatIsMissingOrUnknown() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Fixtures.model("graphs/seq2seq.k3.keras", in: directory)
        let (body, _, inputs, _) = try recorded("seq2seq.k3")
        await #expect { try await direct.predict(#"{"inputs": [[[0.5]]]}"#, model) } throws: { error in
            (error as? PeepholeError)?.description.contains("this model takes 2 inputs") == true
        }
        let missing = body.replacingOccurrences(of: "\"\(inputs[1])\"", with: "\"nope\"")
        await #expect { try await direct.predict(missing, model) } throws: { error in
            (error as? PeepholeError)?.description.hasPrefix("inputs.nope: unknown input") == true
        }
    }
}
