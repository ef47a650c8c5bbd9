import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

@Suite struct SessionTests {
    let directory = Fixtures.temporaryDirectory()
    static let letters = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]

    let direct = DirectAPI()

    private func model(_ file: String, vocabulary: [String]) throws -> LoadedModel {
        try Fixtures.model(file, vocabulary: vocabulary, in: directory)
    }

    /// The defining property of a session, for unidirectional models (a Bidirectional layer's
    /// backward direction sees each chunk's end first, so chunks cannot equal one run there;
    /// its states are carried as Keras `stateful=True` carries them).
    @Test(arguments: ["embed_mask.k3.keras", "onehot.k3.keras", "functional_chain.k3.keras"])
    func twoChunksEqualOneWholeRun(_ file: String) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let vocabulary = file.hasPrefix("onehot") ? Array(Self.letters.prefix(10)) : file.hasPrefix("functional") ? Array(Self.letters.prefix(6)) : Self.letters
        let model = try model(file, vocabulary: vocabulary)
        let session = TestSession(model)
        _ = try await direct.step(#"{"text": ["abcd", "dcba"]}"#, session)
        let second = try await direct.step(#"{"text": ["efa", "fea"]}"#, session)
        #expect(second["step"] as? Int == 2)

        let whole = model.network.run(try direct.input(#"{"text": ["abcdefa", "dcbafea"]}"#, model), states: Set(model.network.recurrentLayerIndices))
        let outputs = NumericArray(second["outputs"]!)
        #expect(zip(outputs.values, whole.output.data).allSatisfy { abs($0 - $1) < 1e-6 })
        for index in model.network.recurrentLayerIndices {
            let carried: [Float] = try #require(session.withState { $0.states[index] }).directions.joined().flatMap(\.data)
            let expected: [Float] = try #require(whole.states[index]).directions.joined().flatMap(\.data)
            #expect(carried.count == expected.count && zip(carried, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        }
        await #expect(throws: PeepholeError.self) { try await direct.step(#"{"text": ["abc"]}"#, session) }
    }

    @Test func statesCanBeReadSetAndReset() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try model("embed_mask.k3.keras", vocabulary: Self.letters)
        let session = TestSession(model)
        let described = try direct.setStates(#"{"lstm_1": {"h": [[0.5, 0, 0, 0]]}}"#, session)
        #expect(session.withState { $0.batch } == 1)
        let states = described["states"] as! [String: [String: Any]]
        #expect(NumericArray(states["lstm_1"]!["h"]!).values == [0.5, 0, 0, 0])
        #expect(NumericArray(states["lstm"]!["c"]!).shape == [1, 6])
        #expect(throws: PeepholeError.self) { try direct.setStates(#"{"lstm_1": {"h": [[0.5, 0]]}}"#, session) }
        #expect(throws: PeepholeError.self) { try direct.setStates(#"{"dense": {"h": [[0.5, 0, 0, 0]]}}"#, session) }
        #expect(throws: PeepholeError.self) { try direct.setStates(#"{"nope": {}}"#, session) }
        _ = direct.api.reset(session)
        #expect(session.withState { $0.states.isEmpty })
    }
}
