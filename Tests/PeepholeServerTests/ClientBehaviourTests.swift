import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import PeepholeServer

/// Clients that send their bodies too slowly, hold every connection, or leave mid-request: the
/// server frees what they hold, keeps answering everyone else and its probes, and does not count
/// their behaviour as its own errors.
@Suite struct ClientBehaviourTests {
    /// A request head announcing a 100 kB body, and the body's first byte.
    static let slowHead = Array("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".utf8)

    @Test func bodiesTrickledPastTheirDeadlineGet408AndAreClosedWhileOthersAreServed() async throws {
        var config = ServerConfig.test
        config.bodyTimeoutSeconds = 3
        try await withServer(.live, config: config) { client in
            let port = try #require(client.port)
            let started = ContinuousClock.now
            let slow = try await offThePool { try (0..<200).map { _ in
                let connection = try RawHTTPConnection(port: port)
                try connection.send(Self.slowHead)
                return connection
            } }
            // One byte a second on every slow connection while normal clients are served.
            let trickle = Task.detached {
                for _ in 0..<2 {
                    try await Task.sleep(for: .seconds(1))
                    for connection in slow { try? connection.send(Array(" ".utf8)) }
                }
            }
            let body = oneHotInputs()
            for _ in 0..<10 {
                #expect(try await client.post("/predict", body).status == .ok)
                #expect(try await client.get("/health").status == .ok)
                try await Task.sleep(for: .milliseconds(200))
            }
            try await trickle.value
            // Each gets its 408, or is closed unanswered if the answer could not be written in time.
            let answers = try await offThePool { slow.map { (try? $0.readResponse())?.status ?? 0 } }
            #expect(answers.allSatisfy { $0 == 408 || $0 == 0 } && answers.contains(408), "\(Set(answers))")
            let closed = try await offThePool { slow.map { $0.isClosedByPeer() } }
            #expect(closed.allSatisfy { $0 }, "\(closed.filter { !$0 }.count) slow connections still open")
            // Closed by the 3 s body deadline, long before the 60 s idle timeout would close them
            // (the bound leaves room for a machine busy with the other tests running alongside).
            #expect(ContinuousClock.now - started < .seconds(30))
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"peephole_http_requests_total{route="/predict",method="POST",status="408"} 200"#), "every slow body counted as a 408")
        }
    }

    @Test func healthProbesAreAnsweredPastTheConnectionLimit() async throws {
        var config = ServerConfig.test
        config.maxConnections = 8
        try await withServer(.live, config: config) { client in
            let port = try #require(client.port)
            let held = try await offThePool { try (0..<20).map { _ in
                let connection = try RawHTTPConnection(port: port)
                try connection.send(Self.slowHead)
                return connection
            } }
            // Once the server has taken the held connections, only the probes get through.
            let probe = { @Sendable in
                try await offThePool {
                    try ["/health", "/ready", "/predict"].map { path in
                        let connection = try RawHTTPConnection(port: port)
                        try connection.send(Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                        return try connection.readResponse().status
                    }
                }
            }
            _ = try await eventually { try await probe() == [200, 200, 503] }
            #expect(try await probe() == [200, 200, 503])
            _ = held
        }
    }

    @Test func clientsLeavingMidBodyOrMidResponseAreNotServerErrors() async throws {
        let logs = CapturedLogs()
        var logger = Logger(label: "peephole-test") { _ in logs }
        logger.logLevel = .info
        try await withServer(.live, logger: logger) { client in
            let port = try #require(client.port)
            let big = #"{"inputs": [[1, 2, 3, 0, 0, 0, 0]], "sequences": true, "gates": true, "preactivations": true}"#
            try await offThePool {
                for _ in 0..<20 {
                    let connection = try RawHTTPConnection(port: port)
                    try connection.send(Self.slowHead)
                }
                for _ in 0..<20 {
                    let connection = try RawHTTPConnection(port: port)
                    try connection.send(Array("POST /models/embed/layers/lstm/output HTTP/1.1\r\nHost: x\r\nContent-Length: \(big.utf8.count)\r\n\r\n\(big)".utf8))
                }
            }
            let gone = #"peephole_http_requests_total{route="/predict",method="POST",status="499"} 20"#
            _ = try await eventually {
                try await client.get("/metrics").text.contains(gone) && logs.lines.filter { $0.contains("Client closed the request") }.count == 20
            }
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(gone), "\(metrics)")
            for route in ["/predict", "/models/{model}/layers/{layer}/output"] {
                #expect(!metrics.contains(#"{route="\#(route)",method="POST",status="5"#), "\(route)")
            }
            #expect(logs.lines.filter { $0.contains("Client closed the request") }.count == 20)
            #expect(!logs.lines.contains { $0.hasPrefix("error") || $0.hasPrefix("critical") }, "\(logs.lines)")
        }
    }
}

/// Log lines kept in memory as "level message", for tests that check what was logged. A value,
/// as swift-log expects of a handler: every copy of a logger sets its own metadata (Hummingbird
/// sets a request id on each request's copy, concurrently), and all copies share the lines.
struct CapturedLogs: LogHandler {
    private let stored = NIOLockedValueBox<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    /// Every line so far.
    var lines: [String] { stored.withLockedValue { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        stored.withLockedValue { $0.append("\(event.level) \(event.message)") }
    }
}
