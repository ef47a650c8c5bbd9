import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// The real transport: body limits over TCP, and `peephole serve` stopped by SIGTERM.
@Suite struct LiveServeTests {
    static let binary = Fixtures.package.appendingPathComponent(".build/debug/peephole").path

    @Test func oversizedBodyIs413OverTCPAndTheServerGoesOn() async throws {
        var config = ServerConfig.test
        config.maxBodyBytes = 10_000
        try await withServer(.live, config: config) { client in
            let big = oneHotInputs(batch: 40, steps: 20)
            let refused = try await client.post("/predict", big)
            #expect(refused.status == .contentTooLarge)
            #expect(refused.errorCode == "body_too_large")
            let valid = try await client.post("/predict", #"{"text": ["abcdef"]}"#)
            #expect(valid.status == .ok)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs `swift build` to have built .build/debug/peephole"))
    func sigtermFinishesTheRequestInFlightAndExitsZero() async throws {
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Self.binary)
        server.arguments = ["serve", "--store", testStore.path, "--port", "0", "--host", "127.0.0.1", "--log-level", "info"]
        server.currentDirectoryURL = testStore.directory
        server.environment = ProcessInfo.processInfo.environment.merging(["PEEPHOLE_MAX_BODY_BYTES": "67108864", "PEEPHOLE_MAX_BATCH": "1000"]) { $1 }
        let output = Pipe()
        server.standardOutput = output
        server.standardError = output
        let log = LogCollector(output.fileHandleForReading)
        try server.run()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }

        let port = try #require(try await log.waitForPort(), "the server never logged its port:\n\(log.text)")
        _ = try await eventually { (try? await httpStatus(port: port, path: "/ready")) == 200 }

        // 1000 sequences of 200 one-hot steps; the head and half the body go before SIGTERM,
        // the rest after, so the request is certainly in flight when the signal lands.
        let body = Array(oneHotInputs(batch: 1000, steps: 200).utf8)
        let connection = try RawHTTPConnection(port: port)
        try connection.send(Array("POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
        try connection.send(body[..<(body.count / 2)])
        try await Task.sleep(for: .milliseconds(300))
        kill(server.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.isRunning, "the server must wait for the request in flight")
        try connection.send(body[(body.count / 2)...])
        let (status, response) = try connection.readResponse()
        #expect(status == 200, "\(response.prefix(300))")
        #expect(response.hasPrefix(#"{"model":"onehot","version":1,"outputs":[["#))

        _ = try await eventually { !server.isRunning }
        #expect(!server.isRunning)
        #expect(server.terminationReason == .exit && server.terminationStatus == 0, "\(log.text)")
        #expect(log.text.contains("Loaded model"))
    }

    /// GETs `path` and returns the status.
    private func httpStatus(port: Int, path: String) async throws -> Int {
        let connection = try RawHTTPConnection(port: port)
        try connection.send(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
        return try connection.readResponse().status
    }
}

/// Collects a child process's output and finds the port it listens on.
final class LogCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.withLock { self.data.append(chunk) }
        }
    }

    /// Everything read so far.
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }

    /// The port from Hummingbird's "listening on HOST:PORT" line, within 30 seconds.
    func waitForPort() async throws -> Int? {
        for _ in 0..<1500 {
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                return port
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
