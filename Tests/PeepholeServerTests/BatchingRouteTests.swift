import Foundation
import Hummingbird
import HummingbirdTesting
import PeepholeCore
import Testing
@testable import PeepholeServer

/// Requests sent together through the routes share forward passes (as `/metrics` shows) and get
/// the bodies they would get alone, byte for byte.
@Suite struct BatchingRouteTests {
    /// One worker that waits for `maxSize` sequences: requests sent together fill a pass, which
    /// runs as soon as it is full. `model` is the default model.
    static func config(maxSize: Int, model: FixtureModel = .onehot) -> ServerConfig {
        var config = ServerConfig.test
        config.defaultModel = model.name
        config.batchWorkers = 1
        config.batchMaxSize = maxSize
        config.batchMaxDelayMicroseconds = patientDelay
        return config
    }

    /// The `(status, body)` of each request, all sent at once.
    static func postTogether(_ client: any TestClientProtocol, _ requests: [(uri: String, body: String)]) async throws -> [(HTTPResponse.Status, String)] {
        try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status, String).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    let response = try await client.post(request.uri, request.body)
                    return (index, response.status, response.text)
                }
            }
            var answers = [(HTTPResponse.Status, String)?](repeating: nil, count: requests.count)
            for try await (index, status, body) in group { answers[index] = (status, body) }
            return answers.map { $0! }
        }
    }

    /// What `/predict` answers for `body`, computed alone on a store of its own.
    static func alone(_ fixture: FixtureModel, _ bodies: [String]) async throws -> [String] {
        let reference = try TestStore([fixture])
        defer { reference.remove() }
        let model = try reference.store.load(model: fixture.name)
        var answers: [String] = []
        for body in bodies { answers.append(try await answerAlone(body, model)) }
        return answers
    }

    /// Expects `got` byte-identical to `expected`, naming the largest numeric difference if not.
    static func expectSame(_ got: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got == expected, "largest difference \(String(describing: largestDifference(got, expected)))", sourceLocation: sourceLocation)
    }

    /// Expects every answer to be 200 with the body of the same request sent alone.
    static func expectAnswersAsAlone(_ answers: some Sequence<(HTTPResponse.Status, String)>, _ expected: [String],
                                     sourceLocation: SourceLocation = #_sourceLocation) {
        for (answer, expected) in zip(answers, expected) {
            #expect(answer.0 == .ok, sourceLocation: sourceLocation)
            expectSame(answer.1, expected, sourceLocation: sourceLocation)
        }
    }

    /// Expects the server's metrics to count `passes` forward passes of `sequences` sequences in all.
    static func expectPasses(_ metrics: String, model: String, passes: Int, sequences: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(metrics.contains("peephole_forward_batch_size_count{model=\"\(model)\"} \(passes)"), "\(metrics)", sourceLocation: sourceLocation)
        #expect(metrics.contains("peephole_forward_batch_size_sum{model=\"\(model)\"} \(sequences)"), sourceLocation: sourceLocation)
    }

    @Test func predictionsSentTogetherShareOnePassAndAnswerAsAlone() async throws {
        let bodies = [#"{"text": ["abcdef"], "top_k": 3}"#, #"{"text": ["ghijab", "jihgfe"]}"#, #"{"text": ["cdefgh"]}"#, #"{"text": ["aaaaaa"], "top_k": 1}"#]
        let expected = try await Self.alone(.onehot, bodies)
        try await withServer(models: [.onehot], config: Self.config(maxSize: 5)) { client in
            let answers = try await Self.postTogether(client, bodies.map { ("/predict", $0) })
            Self.expectAnswersAsAlone(answers, expected)
            let metrics = try await client.get("/metrics").text
            Self.expectPasses(metrics, model: "onehot", passes: 1, sequences: 5)
            #expect(metrics.contains(#"peephole_forward_shared_requests_total{model="onehot"} 4"#))
            #expect(metrics.contains(#"peephole_inference_batch_size_count{model="onehot"} 4"#), "each request is still counted")
        }
    }

    @Test func requestsOfOtherStepCountsRunInPassesOfTheirOwnAndAnswerAsAlone() async throws {
        let bodies = [chainInputs(batch: 1, steps: 4, seed: 1), chainInputs(batch: 1, steps: 9, seed: 2),
                      chainInputs(batch: 1, steps: 4, seed: 3), chainInputs(batch: 1, steps: 9, seed: 4)]
        let expected = try await Self.alone(.chain, bodies)
        try await withServer(models: [.chain], config: Self.config(maxSize: 2, model: .chain)) { client in
            let answers = try await Self.postTogether(client, bodies.map { ("/models/chain/predict", $0) })
            Self.expectAnswersAsAlone(answers, expected)
            let metrics = try await client.get("/metrics").text
            Self.expectPasses(metrics, model: "chain", passes: 2, sequences: 4)
        }
    }

    @Test func aBadTopKIsRefusedBeforeItJoinsAPassAndTheOthersAreAnswered() async throws {
        let good = [#"{"text": ["abcdef"], "top_k": 2}"#, #"{"text": ["bcdefg"], "top_k": 2}"#, #"{"text": ["cdefgh"], "top_k": 2}"#]
        let expected = try await Self.alone(.onehot, good)
        try await withServer(models: [.onehot], config: Self.config(maxSize: 3)) { client in
            let bad = #"{"text": ["defghi"], "top_k": 11}"#
            let answers = try await Self.postTogether(client, ([bad] + good).map { ("/predict", $0) })
            #expect(answers[0].0 == .badRequest)
            #expect(answers[0].1.contains(#""code":"invalid_input""#) && answers[0].1.contains("top_k"))
            Self.expectAnswersAsAlone(answers.dropFirst(), expected)
            let metrics = try await client.get("/metrics").text
            Self.expectPasses(metrics, model: "onehot", passes: 1, sequences: 3)
        }
    }

    @Test func plainLayerOutputsShareAPassAndStatesRequestsRunAlone() async throws {
        let uri = "/models/embed/layers/lstm/output"
        let plain = [#"{"inputs": [[1, 2, 3, 0, 0, 0, 0]]}"#, #"{"inputs": [[4, 5, 6, 7, 8, 9, 10]]}"#, #"{"text": ["kjihg__"]}"#]
        let withStates = #"{"inputs": [[3, 3, 0, 0, 0, 0, 0]], "states": true}"#
        let reference = try TestStore([.embed])
        defer { reference.remove() }
        let model = try reference.store.load(model: "embed")
        var answersAlone: [String] = []
        for body in plain + [withStates] { answersAlone.append(try await answerAlone(body, model, layer: "lstm")) }
        let expected = answersAlone
        try await withServer(models: [.embed], config: Self.config(maxSize: 3, model: .embed)) { client in
            let answers = try await Self.postTogether(client, (plain + [withStates]).map { (uri, $0) })
            Self.expectAnswersAsAlone(answers, expected)
            #expect(answers[3].1.contains(#""states":"#))
            let metrics = try await client.get("/metrics").text
            Self.expectPasses(metrics, model: "embed", passes: 1, sequences: 3)
            #expect(metrics.contains(#"peephole_inference_duration_seconds_count{model="embed",endpoint="layer_output"} 4"#))
        }
    }
}
