import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Slow and abusive connections are closed; normal clients are served meanwhile.
@Suite struct SlowClientTests {
    @Test func aHeadTrickledTooSlowlyIsClosedWhileNormalRequestsSucceed() async throws {
        var config = ServerConfig.test
        config.headerTimeoutSeconds = 5
        try await withServer(.live, config: config) { client in
            let port = try #require(client.port)
            // 200 slow clients, each with half a request head sent.
            let slow = try await offThePool {
                try (0..<200).map { _ in
                    let connection = try RawHTTPConnection(port: port)
                    try connection.send(Array("POST /predict HTTP/1.1\r\nHost: x\r\n".utf8))
                    return connection
                }
            }
            // Normal clients, each on a connection of its own, are served meanwhile.
            let body = oneHotInputs()
            let statuses = try await offThePool {
                try (0..<20).map { _ in
                    let connection = try RawHTTPConnection(port: port)
                    try connection.send(Array("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
                    return try connection.readResponse().status
                }
            }
            #expect(statuses == Array(repeating: 200, count: 20))
            try await Task.sleep(for: .milliseconds(6000))
            // Past the header timeout the server has closed every slow connection (a read
            // returns end of file, not the socket's 10 s timeout).
            let closed = try await offThePool { slow.map { $0.isClosedByPeer() } }
            #expect(closed.allSatisfy { $0 }, "\(closed.filter { !$0 }.count) slow connections still open")
        }
    }

    @Test func connectionsPastTheLimitAreClosedAndServingGoesOn() async throws {
        var config = ServerConfig.test
        config.maxConnections = 4
        try await withServer(.live, config: config) { client in
            let port = try #require(client.port)
            // The test client holds one connection; open three more, each answered (so counted)
            // before one more is opened past the limit.
            let held = try await offThePool {
                try (0..<3).map { _ in
                    let connection = try RawHTTPConnection(port: port)
                    try connection.send(Array("GET /models HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                    return (connection, try connection.readResponse().status)
                }
            }
            #expect(held.map(\.1) == [200, 200, 200])
            let answer = try await offThePool {
                let refused = try RawHTTPConnection(port: port)
                try refused.send(Array("GET /models HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                return try refused.readResponse()
            }
            #expect(answer.status == 503)
            #expect(answer.body.contains("too_many_connections"))
            #expect(try await client.get("/health").status == .ok)
            let status = try await offThePool {
                try held[0].0.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                return try held[0].0.readResponse().status
            }
            #expect(status == 200)
        }
    }
}
