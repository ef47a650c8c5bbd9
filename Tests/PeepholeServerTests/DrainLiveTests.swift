import Foundation
import Testing
@testable import PeepholeServer

/// `peephole serve` under an orchestrator: on SIGTERM readiness fails at once, the server goes
/// on answering for `drain_seconds`, the request in flight finishes, and the process exits 0.
@Suite struct DrainLiveTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: LiveServeTests.binary), "needs `swift build` to have built .build/debug/peephole"))
    func sigtermFailsReadinessAtOnceDrainsAndExitsZero() async throws {
        // Long enough for the checks below to land inside the drain while the other tests keep
        // this process's threads busy (a 300 ms `Task.sleep` here has woken after 2.3 s).
        let drainSeconds = 6
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: LiveServeTests.binary)
        // The store is found through --model-dir, as KServe passes /mnt/models.
        server.arguments = ["serve", "--model-dir", testStore.directory.path, "--port", "0", "--host", "127.0.0.1"]
        server.currentDirectoryURL = testStore.directory
        server.environment = ProcessInfo.processInfo.environment.merging([
            "PEEPHOLE_DRAIN_SECONDS": "\(drainSeconds)", "PEEPHOLE_MAX_BODY_BYTES": "67108864", "PEEPHOLE_MAX_BATCH": "1000",
        ]) { $1 }
        let output = Pipe()
        server.standardOutput = output
        server.standardError = output
        let log = LogCollector(output.fileHandleForReading)
        try server.run()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }

        let port = try #require(try await log.waitForPort(), "the server never logged its port:\n\(log.text)")
        _ = try await eventually { (try? status(port: port, path: "/v2/health/ready")) == 200 }
        #expect(try status(port: port, path: "/v2/health/ready") == 200)

        let body = Array(oneHotInputs(batch: 1000, steps: 200).utf8)
        let inFlight = try RawHTTPConnection(port: port)
        try inFlight.send(Array("POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
        try inFlight.send(body[..<(body.count / 2)])
        let signalled = ContinuousClock.now
        kill(server.processIdentifier, SIGTERM)
        // The signal is handled on the server's own time; poll until it is, sleeping the thread
        // rather than awaiting a wake-up (what `eventually` does), which the other tests keeping
        // this process busy can delay past the drain.
        for _ in 0..<500 where (try? status(port: port, path: "/v2/health/ready")) != 503 { usleep(10_000) }

        // Not ready at once, on new connections, while still live and still serving.
        #expect(try status(port: port, path: "/v2/health/ready") == 503)
        #expect(try status(port: port, path: "/ready") == 503)
        #expect(try status(port: port, path: "/v2/health/live") == 200)
        #expect(try status(port: port, path: "/predict", body: #"{"text": ["abcdef"]}"#) == 200)
        try inFlight.send(body[(body.count / 2)...])
        let (code, response) = try inFlight.readResponse()
        #expect(code == 200, "\(response.prefix(300))")

        _ = try await eventually(within: .seconds(20)) { !server.isRunning }
        let elapsed = ContinuousClock.now - signalled
        #expect(!server.isRunning)
        #expect(server.terminationReason == .exit && server.terminationStatus == 0, "\(log.text)")
        // At least the drain; the upper bound leaves room for a machine busy with other tests.
        #expect(elapsed >= .seconds(drainSeconds) && elapsed < .seconds(drainSeconds + 15), "drained for \(elapsed)")
        #expect(log.text.contains("Draining"))
    }

    /// Sends one request on a new connection and returns the status.
    private func status(port: Int, path: String, body: String? = nil) throws -> Int {
        let connection = try RawHTTPConnection(port: port)
        let head = body.map { "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: \($0.utf8.count)\r\nConnection: close\r\n\r\n\($0)" }
            ?? "GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        try connection.send(Array(head.utf8))
        return try connection.readResponse().status
    }
}
