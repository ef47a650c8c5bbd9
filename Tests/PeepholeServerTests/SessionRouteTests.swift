import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Stateful sessions, text generation and per-step introspection over HTTP.
@Suite struct SessionRouteTests {
    @Test func aTextFedInTwoChunksEqualsItFedWhole() async throws {
        try await withServer { client in
            let opened = try await client.post("/models/embed/sessions", "")
            #expect(opened.status == .created)
            let id = try #require(opened.json["session"] as? String)
            #expect(opened.json["version"] as? Int == 1)
            #expect(opened.json["expires_in"] as? Int == 600)
            #expect(opened.headers[.location] == "/sessions/\(id)")

            _ = try await client.post("/sessions/\(id)/step", #"{"text": ["abcd"]}"#)
            let second = try await client.post("/sessions/\(id)/step", #"{"text": ["efg"], "layer": "lstm_1", "states": true, "gates": true}"#)
            #expect(second.status == .ok)
            #expect(second.json["step"] as? Int == 2)
            let whole = try await client.post("/models/embed/predict", #"{"text": ["abcdefg"]}"#)
            let wholeLayer = try await client.post("/models/embed/layers/lstm_1/output", #"{"text": ["abcdefg"], "states": true}"#)
            func numbers(_ value: Any?) -> [Double] { ((value as? [[Double]]) ?? []).flatMap { $0 } }
            #expect(zip(numbers(second.json["outputs"]), numbers(whole.json["outputs"])).allSatisfy { abs($0 - $1) < 1e-6 })
            let stepStates = second.json["states"] as? [String: Any], wholeStates = wholeLayer.json["states"] as? [String: Any]
            #expect(zip(numbers(stepStates?["c"]), numbers(wholeStates?["c"])).allSatisfy { abs($0 - $1) < 1e-6 })
            #expect((second.json["gates"] as? [String: Any])?.keys.sorted() == ["c", "f", "g", "i", "o"])

            let described = try await client.get("/sessions/\(id)")
            #expect(described.json["batch"] as? Int == 1)
            #expect(described.json["steps"] as? Int == 2)
            let states = try #require(described.json["states"] as? [String: [String: Any]])
            #expect(states.keys.sorted() == ["lstm", "lstm_1"])
            #expect(numbers(states["lstm_1"]?["c"]) == numbers(stepStates?["c"]))

            let wrongBatch = try await client.post("/sessions/\(id)/step", #"{"text": ["ab", "cd"]}"#)
            #expect(wrongBatch.status == .badRequest)
            #expect(wrongBatch.errorMessage.contains("batch size is 1"))
        }
    }

    @Test func statesCanBeSetResetAndTheSessionDeleted() async throws {
        try await withServer { client in
            let id = try #require(try await client.post("/sessions", "").json["session"] as? String)
            let set = try await client.execute(uri: "/sessions/\(id)/state", method: .put, body: ByteBuffer(string: #"{"lstm": {"h": [[0.5,0,0,0,0,0,0,0]]}}"#))
            #expect(set.status == .ok)
            #expect(((set.json["states"] as? [String: [String: Any]])?["lstm"]?["h"] as? [[Double]])?.first?.first == 0.5)
            let badShape = try await client.execute(uri: "/sessions/\(id)/state", method: .put, body: ByteBuffer(string: #"{"lstm": {"h": [[0.5]]}}"#))
            #expect(badShape.status == .badRequest)
            #expect(badShape.errorMessage.contains("expected shape [1, 8]"))
            let reset = try await client.post("/sessions/\(id)/reset", "")
            #expect(((reset.json["states"] as? [String: [String: Any]])?["lstm"]?["h"] as? [[Double]])?.first?.first == 0)
            #expect(try await client.execute(uri: "/sessions/\(id)", method: .delete).json["deleted"] as? Bool == true)
            let gone = try await client.get("/sessions/\(id)")
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "unknown_session")
            #expect(try await client.post("/sessions/nope/step", oneHotInputs()).status == .notFound)
        }
    }

    @Test func openingPastTheLimitIsRefusedWith429() async throws {
        var config = ServerConfig.test
        config.maxSessions = 2
        try await withServer(config: config) { client in
            #expect(try await client.post("/sessions", "").status == .created)
            #expect(try await client.post("/sessions", "").status == .created)
            let refused = try await client.post("/sessions", "")
            #expect(refused.status == .tooManyRequests)
            #expect(refused.errorCode == "too_many_sessions")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(try await client.post("/predict", oneHotInputs()).status == .ok)
        }
    }

    @Test func idleSessionsExpireOverHTTP() async throws {
        var config = ServerConfig.test
        config.sessionIdleSeconds = 1
        try await withServer(config: config) { client in
            let id = try #require(try await client.post("/sessions", "").json["session"] as? String)
            try await Task.sleep(for: .milliseconds(1500))
            let expired = try await client.get("/sessions/\(id)")
            #expect(expired.status == .notFound)
            #expect(expired.errorCode == "unknown_session")
        }
    }

    @Test func aSessionExpiresOnlyAfterItsIdleTimeUnused() throws {
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "onehot")
        let clock = ManualClock()
        let sessions = SessionRegistry(limit: 2, idleSeconds: 10, now: { clock.now })
        let id = try sessions.open(model).withState { $0.id }
        clock.advance(.seconds(9))
        #expect(throws: Never.self) { try sessions.session(id) }
        clock.advance(.seconds(9))
        #expect(throws: Never.self) { try sessions.session(id) }
        clock.advance(.seconds(10))
        #expect(throws: ServerError.unknownSession(id)) { try sessions.session(id) }
        #expect(sessions.count == 0)
    }

    @Test func generationIsReproducibleForASeed() async throws {
        try await withServer { client in
            let body = #"{"prompt": "abc", "length": 40, "temperature": 0.7, "seed": 42}"#
            let first = try await client.post("/models/embed/generate", body)
            #expect(first.status == .ok)
            let text = try #require(first.json["text"] as? String)
            #expect(text.unicodeScalars.count == 40)
            #expect(first.json["seed"] as? Int == 42)
            #expect(try await client.post("/models/embed/generate", body).json["text"] as? String == text)
            let unknown = try await client.post("/models/embed/generate", #"{"prompt": "xyz"}"#)
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorMessage.contains("'x'"))
            #expect(try await client.post("/models/bidi/generate", #"{"prompt": "a"}"#).status == .badRequest)
            #expect(try await client.post("/generate", #"{"prompt": "a", "length": 100000}"#).status == .badRequest)
        }
    }

    @Test func layerOutputReturnsPerStepInternals() async throws {
        try await withServer { client in
            let response = try await client.post("/layers/lstm/output", #"{"text": ["abcdef"], "sequences": true, "gates": true, "units": [0, 7], "steps": {"from": -2}}"#)
            #expect(response.status == .ok)
            #expect((response.json["sequence"] as? [[[Double]]])?.first?.count == 2)
            #expect((response.json["sequence"] as? [[[Double]]])?.first?.first?.count == 2)
            #expect(response.json["units"] as? [Int] == [0, 7])
            #expect(response.json["order"] as? String == "input")
            let outOfRange = try await client.post("/layers/lstm/output", #"{"text": ["abcdef"], "gates": true, "units": [8]}"#)
            #expect(outOfRange.status == .badRequest)
            #expect(outOfRange.errorMessage.contains("unit 8"))
        }
    }
}

/// A clock a test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = ContinuousClock.now

    var now: ContinuousClock.Instant { lock.withLock { current } }
    func advance(_ duration: Duration) { lock.withLock { current += duration } }
}
