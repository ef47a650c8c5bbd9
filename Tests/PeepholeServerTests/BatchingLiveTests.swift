import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import PeepholeServer

/// Batching over the real transport: clients on connections of their own, sending at once.
@Suite struct BatchingLiveTests {
    @Test func concurrentClientsOverTCPGetTheBodiesOfSequentialRequests() async throws {
        let bodies = [#"{"text": ["abcdef"]}"#, #"{"text": ["jihgfe"], "top_k": 2}"#, #"{"text": ["aabbcc", "ddeeff"]}"#]
        // Sequential answers from a server that runs every request alone, as before batching.
        var unbatched = ServerConfig.test
        unbatched.batchMaxSize = 1
        let sequential = Answers()
        try await withServer(.live, models: [.onehot], config: unbatched) { client in
            for body in bodies {
                let response = try await client.post("/predict", body)
                #expect(response.status == .ok)
                sequential.append(response.text)
            }
        }
        // One worker that waits until the concurrent requests' 4 sequences fill one pass.
        var batched = ServerConfig.test
        batched.batchWorkers = 1
        batched.batchMaxSize = 4
        batched.batchMaxDelayMicroseconds = patientDelay
        try await withServer(.live, models: [.onehot], config: batched) { client in
            let port = try #require(client.port)
            let concurrent = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, body) in bodies.enumerated() {
                    group.addTask { (index, try await Self.post(body, port: port)) }
                }
                var answers = [String](repeating: "", count: bodies.count)
                for try await (index, answer) in group { answers[index] = answer }
                return answers
            }
            #expect(concurrent.count == sequential.all.count)
            for (answer, expected) in zip(concurrent, sequential.all) {
                #expect(answer == expected, "largest difference \(String(describing: largestDifference(answer, expected)))")
            }
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"peephole_forward_batch_size_count{model="onehot"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"peephole_forward_shared_requests_total{model="onehot"} 3"#))
        }
    }

    /// POSTs `body` to `/predict` on a connection of its own (one connection answers its
    /// requests in order, so concurrent clients need their own) and returns the response body.
    private static func post(_ body: String, port: Int) async throws -> String {
        let client = TestClient(host: "127.0.0.1", port: port)
        client.connect()
        do {
            let response = try await client.execute(.init("/predict", method: .post, authority: "localhost",
                                                          headers: [.contentType: "application/json"], body: ByteBuffer(string: body)))
            try await client.shutdown()
            return String(buffer: response.body ?? ByteBuffer())
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// Response bodies collected inside one server's test closure, read after it.
private final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private var bodies: [String] = []

    func append(_ body: String) { lock.withLock { bodies.append(body) } }
    var all: [String] { lock.withLock { bodies } }
}
