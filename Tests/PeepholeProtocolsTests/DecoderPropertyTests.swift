import Foundation
import PeepholeCore
import Testing
@testable import PeepholeProtocols

/// Random and mutated request bodies through every request decoder: none crashes, and every
/// refusal is a request error (`invalidInput`, `notApplicable`; `unknownLayer` for a state
/// body, whose keys are layer names). Bounded and seeded, so a run is reproducible and short.
@Suite struct DecoderPropertyTests {
    /// Inputs per run; each goes through all nine decoders (about 3 s in a debug build).
    static let inputs = 15_000

    @Test func randomAndMutatedBodiesNeverCrashAndFailOnlyAsRequestErrors() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let models = try Self.models(in: directory)
        let limits = RequestLimits()
        let direct = DirectAPI()

        var random = SplitMix64(seed: 0x5EED)
        var unexpected: [String: String] = [:]
        var decoded = 0
        func expectRequestError(_ target: String, _ body: [UInt8], allowUnknownLayer: Bool = false, _ decode: () throws -> Void) {
            do {
                try decode()
                decoded += 1
            } catch let error as PeepholeError {
                switch error {
                case .invalidInput, .notApplicable: break
                case .unknownLayer where allowUnknownLayer: break
                default: unexpected["\(target): \(error.code)"] = String(decoding: body.prefix(200), as: UTF8.self)
                }
            } catch {
                unexpected["\(target): \(type(of: error))"] = String(decoding: body.prefix(200), as: UTF8.self)
            }
        }

        for _ in 0..<Self.inputs {
            let body = BodyFuzzer.next(&random)
            for model in models {
                expectRequestError("\(model.info.model) predict", body) {
                    _ = try PeepholeJSON.decode(PredictRequest.self, from: body, limits: limits).input.tensor(for: model, limits: limits)
                }
                expectRequestError("\(model.info.model) layerOutput", body) {
                    _ = try PeepholeJSON.decode(LayerOutputRequest.self, from: body, limits: limits).input.tensor(for: model, limits: limits)
                }
                expectRequestError("\(model.info.model) sessionStep", body) {
                    _ = try PeepholeJSON.decode(SessionStepRequest.self, from: body, limits: limits).input.tensor(for: model, limits: limits)
                }
                expectRequestError("\(model.info.model) state", body, allowUnknownLayer: true) {
                    _ = try direct.api.setStates(try PeepholeJSON.decode(SessionStatesRequest.self, from: body, limits: limits), session: TestSession(model))
                }
            }
            expectRequestError("generate", body) { _ = try PeepholeJSON.decode(GenerateRequest.self, from: body, limits: limits) }
        }
        #expect(unexpected.isEmpty, "\(unexpected)")
        #expect(decoded > Self.inputs / 50, "some edited bodies stay valid, so checks past the parser are reached too")
    }

    /// The two models bodies are decoded for, from a store in `directory`: `onehot` (one-hot
    /// (6, 10), vocabulary a…j) and `embed` (7 token ids, vocabulary `_` a…k).
    static func models(in directory: URL) throws -> [LoadedModel] {
        let store = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent("onehot.k3.keras").path),
                              name: "onehot", vocabulary: "abcdefghij".map(String.init))
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent("embed_mask.k3.keras").path),
                              name: "embed", vocabulary: ["_"] + "abcdefghijk".map(String.init))
        return [try store.load(model: "onehot"), try store.load(model: "embed")]
    }
}

/// Request bodies for the property test: random bytes, or valid bodies of every endpoint
/// with a few random edits (bit flips, inserted and deleted bytes, numbers at the edges of
/// float32 and Int, deep nesting, truncation).
enum BodyFuzzer {
    /// Valid bodies for each endpoint and model, the starting points of the edits.
    static let seeds: [String] = {
        let row = "[0,0,0,1,0,0,0,0,0,0]"
        let state = "[[0,0,0,0,0,0,0,0]]"
        return [
            #"{"inputs": [["# + Array(repeating: row, count: 6).joined(separator: ",") + "]]}",
            #"{"inputs": [[1,2,3,4,5,6,7],[0,0,0,0,1,2,3]]}"#,
            #"{"text": ["abcdef", "ghijab"], "top_k": 3}"#,
            #"{"text": ["abcdefg"], "states": true, "sequences": true, "gates": true, "preactivations": false, "units": [0, 2], "steps": {"from": -3, "to": null}}"#,
            #"{"text": ["abcdef"], "initial_state": {"h": \#(state), "c": \#(state)}, "states": true}"#,
            #"{"text": ["abc"], "layer": "lstm", "gates": true, "steps": {"from": 0, "to": 2}}"#,
            #"{"prompt": "abc", "length": 5, "temperature": 0.5, "seed": 7, "top_k": 3}"#,
            #"{"lstm": {"h": \#(state), "c": \#(state)}}"#,
            #"{"lstm": {"h": [[0,0,0,0,0,0]]}, "lstm_1": {"c": [[0,0,0,0]]}}"#,
        ]
    }()

    /// Numbers past float32, Int and Double, negative zero, and literals JSON does not have.
    static let edgeNumbers = [
        "1e400", "-1e400", "-0", "-0.0e-400", "1e19", "-1e19", "9223372036854775808", "3.4028235e38", "3.5e38", "1e-46",
        "9007199254740993", "123456789012345678901234567890", "1e999999999999", "NaN", "Infinity", "-1", "0.5", "12", "1E+2",
    ]
    /// Bytes worth inserting: JSON's punctuation and literals' letters, and bytes UTF-8 forbids.
    static let jsonBytes = Array(#"[]{}",:-+.0123456789eEtrufalsn\ "#.utf8) + [0x00, 0x7F, 0x80, 0xC0, 0xED, 0xF4, 0xFF]

    /// One body: a twentieth are random bytes, the rest are `seeds` with one to four edits.
    static func next(_ random: inout SplitMix64, seeds: [String] = seeds) -> [UInt8] {
        if random.next() % 20 == 0 {
            return (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        var body = Array(seeds[Int(random.next() % UInt64(seeds.count))].utf8)
        for _ in 0...Int(random.next() % 4) { mutate(&body, &random) }
        return body
    }

    /// One random edit of `body`.
    static func mutate(_ body: inout [UInt8], _ random: inout SplitMix64) {
        func index(_ count: Int) -> Int { count == 0 ? 0 : Int(random.next() % UInt64(count)) }
        switch random.next() % 8 {
        case 0 where !body.isEmpty:  // flip a bit
            body[index(body.count)] ^= 1 << (random.next() % 8)
        case 1:  // insert a byte, mostly one that means something in JSON
            let byte = random.next() % 4 == 0 ? UInt8(truncatingIfNeeded: random.next()) : jsonBytes[index(jsonBytes.count)]
            body.insert(byte, at: index(body.count + 1))
        case 2 where !body.isEmpty:  // delete a run of bytes
            let start = index(body.count)
            body.removeSubrange(start..<min(body.count, start + 1 + index(8)))
        case 3:  // replace a number with one at the edges
            let digits = body.indices.filter { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(body[$0]) }
            guard !digits.isEmpty else { return }
            let at = digits[index(digits.count)]
            body.replaceSubrange(at...at, with: Array(edgeNumbers[index(edgeNumbers.count)].utf8))
        case 4:  // nest a value deeply, now and then far past any limit
            let depth = random.next() % 16 == 0 ? 10_000 : 1 + index(12)
            let at = index(body.count + 1)
            body.insert(contentsOf: [UInt8](repeating: UInt8(ascii: "["), count: depth), at: at)
            if random.next() % 2 == 0 {
                let end = at + depth + index(body.count - at - depth + 1)
                body.insert(contentsOf: [UInt8](repeating: UInt8(ascii: "]"), count: depth), at: end)
            }
        case 5:  // truncate
            body.removeSubrange(index(body.count + 1)...)
        case 6 where !body.isEmpty:  // duplicate a run (repeated keys, longer arrays)
            let start = index(body.count)
            let run = Array(body[start..<min(body.count, start + 1 + index(32))])
            body.insert(contentsOf: run, at: index(body.count + 1))
        default:  // overwrite a byte with an invalid UTF-8 byte
            guard !body.isEmpty else { return }
            body[index(body.count)] = [0x80, 0xC0, 0xC3, 0xED, 0xF5, 0xFF][index(6)]
        }
    }
}
