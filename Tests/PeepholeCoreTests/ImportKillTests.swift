import Foundation
import GRDB
import Testing
@testable import PeepholeCore

/// `peephole import` killed with SIGKILL at random points: the store always opens, passes
/// `PRAGMA integrity_check`, and holds the complete new version or none of it.
@Suite struct ImportKillTests {
    static let binary = Fixtures.root.deletingLastPathComponent().appendingPathComponent(".build/debug/peephole").path
    static let model = DemoModelTests.models.appendingPathComponent("chars.keras").path

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs `swift build` to have built .build/debug/peephole"))
    func killedImportLeavesAllOrNothing() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        let wal = path + "-wal"

        // Calibration: one whole import, timed from the moment it opens the store (its WAL file
        // appears; before that it only reads the .keras file) to the moment it closes it (a clean
        // close removes the WAL). The kills land at random points of that span and a little past
        // it. Timing spins, because sleeping is coarser than the span (a few milliseconds).
        let calibration = try Self.startImport(into: path)
        Self.spin { !calibration.isRunning || FileManager.default.fileExists(atPath: wal) }
        let opened = ContinuousClock.now
        Self.spin { !calibration.isRunning && !FileManager.default.fileExists(atPath: wal) }
        let window = (ContinuousClock.now - opened) * 1.2
        calibration.waitUntilExit()
        #expect(calibration.terminationStatus == 0)

        var outcomes: [String] = []
        var before = 1
        for _ in 0..<10 {
            // A read-only open may leave an empty WAL file, so the store is only opened for
            // reading after the kill, and the write-mode check closes it last, removing the WAL.
            #expect(!FileManager.default.fileExists(atPath: wal))
            let delay = window * Double.random(in: 0..<1)
            let process = try Self.startImport(into: path)
            Self.spin { !process.isRunning || FileManager.default.fileExists(atPath: wal) }
            let deadline = ContinuousClock.now + delay
            Self.spin { ContinuousClock.now >= deadline }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let leftover = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: wal)).seekToEnd()).map { "WAL \($0) bytes" } ?? "no WAL"

            // As the server opens it: read-only, with whatever the killed process left behind.
            let numbers = try Self.loadEveryVersion(path)
            #expect(numbers.count == before || numbers.count == before + 1, "\(before) versions before, \(numbers) after")
            // Opened for writing and closed, so the next import starts with no WAL file.
            #expect(try Self.integrityCheck(path) == ["ok"])
            outcomes.append("\(Self.milliseconds(delay)): "
                + (numbers.count > before ? "new version" : "no change") + ", \(leftover)"
                + (process.terminationReason == .uncaughtSignal ? "" : " (had exited)"))
            before = numbers.count
        }
        print("Killed imports (window \(Self.milliseconds(window))): " + outcomes.joined(separator: "; "))
    }

    private static func milliseconds(_ duration: Duration) -> String {
        String(format: "%.2f ms", Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15)
    }

    /// Spins until `done`: sub-millisecond timing, which sleeping cannot give.
    private static func spin(until done: () -> Bool) {
        while !done() {}
    }

    private static func startImport(into store: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["import", model, "--name", "chars", "--store", store]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The version numbers of `chars`, each loaded (checksums verified) from a read-only store.
    private static func loadEveryVersion(_ path: String) throws -> [Int] {
        let store = try ModelStore(path: path, access: .readOnly)
        let numbers = try store.versionNumbers()["chars"] ?? []
        for number in numbers { _ = try store.load(model: "chars", version: number) }
        return numbers
    }

    private static func integrityCheck(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }
}
