import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Slow and abusive connections are closed; normal clients are served meanwhile.
@Suite struct SlowClientTests {
    @Test func aHeadTrickledTooSlowlyIsClosedWhileNormalRequestsSucceed() async throws {
        var config = ServerConfig.test
        config.headerTimeoutSeconds = 1
        try await withServer(.live, config: config) { client in
            let port = try #require(client.port)
            // 200 slow clients, each with half a request head sent.
            let slow = try (0..<200).map { _ in
                let connection = try RawHTTPConnection(port: port)
                try connection.send(Array("POST /predict HTTP/1.1\r\nHost: x\r\n".utf8))
                return connection
            }
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<20 {
                #expect(try await client.post("/predict", oneHotInputs()).status == .ok)
            }
            #expect(clock.now - start < .seconds(1), "normal requests are served while slow clients hold connections")
            try await Task.sleep(for: .milliseconds(1500))
            // Past the header timeout the server has closed every slow connection.
            for connection in slow {
                let response = try connection.readResponse()
                #expect(response.status == 0, "closed without a response")
            }
        }
    }

    @Test func connectionsPastTheLimitAreClosedAndServingGoesOn() async throws {
        var config = ServerConfig.test
        config.maxConnections = 4
        try await withServer(.live, config: config) { client in
            let port = try #require(client.port)
            // The test client holds one connection; open three more, then one past the limit.
            let held = try (0..<3).map { _ in try RawHTTPConnection(port: port) }
            try await Task.sleep(for: .milliseconds(100))
            let refused = try RawHTTPConnection(port: port)
            try? refused.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(try refused.readResponse().status == 0, "closed at once")
            #expect(try await client.get("/health").status == .ok)
            let answered = held[0]
            try answered.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(try answered.readResponse().status == 200)
        }
    }
}
