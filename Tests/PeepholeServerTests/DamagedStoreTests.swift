import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import PeepholeCore
import Testing
@testable import PeepholeServer

/// A server over a damaged store: a fault under one model's rows lists that model as damaged
/// with the reason and serves the rest; a fault in the store as a whole stops `peephole serve`
/// at start with one line naming the path and the reason.
@Suite struct DamagedStoreTests {
    /// A fault in the rows of model `chars`, and what `/models` then says about it.
    struct ModelFault: Sendable, CustomTestStringConvertible {
        var name: String
        var sql: String?
        var pageByte: UInt8?
        var reason: String
        var testDescription: String { name }
    }

    static let modelFaults = [
        ModelFault(name: "corrupt page", pageByte: 0xA5, reason: "SQLite cannot read it: database disk image is malformed"),
        ModelFault(name: "checksum mismatch", sql: "UPDATE tensor SET sha256 = 'x' WHERE name = 'kernel'", reason: "fails its SHA-256 check"),
        ModelFault(name: "truncated tensor", sql: "UPDATE tensor SET data = substr(data, 1, 10) WHERE name = 'kernel'", reason: "fails its SHA-256 check"),
        ModelFault(name: "value of the wrong type", sql: "UPDATE tensor SET data = 42 WHERE name = 'kernel'", reason: "a row holds a value of the wrong type"),
    ]

    @Test(arguments: modelFaults)
    func damagedModelIsListedWithItsReasonAndTheOthersServe(fault: ModelFault) async throws {
        let store = try TestStore([.onehot])
        defer { store.remove() }
        try store.store.importModel(try KerasModelFile.read(path: Self.chars), name: "chars")
        let chars = "(SELECT layer.id FROM layer JOIN version ON version.id = layer.version_id JOIN model ON model.id = version.model_id WHERE model.name = 'chars')"
        try Self.damage(store.path, sql: fault.sql.map { $0 + " AND layer_id IN \(chars)" }, pageByte: fault.pageByte)

        let app = buildApplication(config: .test, store: try ModelStore(path: store.path, access: .readOnly), logger: quietLogger)
        try await app.test(.router) { client in
            _ = try await eventually(within: .seconds(5)) { try await client.get("/ready").status == .ok }
            let models = try #require(try await client.get("/models").json["models"] as? [[String: Any]])
            let damaged = try #require(models.first { $0["name"] as? String == "chars" }?["versions"] as? [[String: Any]])
            #expect(damaged.count == 1)
            #expect(damaged.first?["status"] as? String == "damaged")
            #expect((damaged.first?["error"] as? String)?.contains(fault.reason) == true, "\(damaged)")
            #expect(try await client.post("/models/chars/predict", oneHotInputs()).errorCode == "damaged_model")
            #expect(try await client.post("/predict", oneHotInputs()).status == .ok)
        }
    }

    static let binary = Fixtures.package.appendingPathComponent(".build/debug/peephole").path
    static let chars = Fixtures.package.appendingPathComponent("models/chars.keras").path

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs `swift build` to have built .build/debug/peephole"))
    func storeThatCannotBeUsedStopsServeWithOneLine() throws {
        let faults: [(String, (String) throws -> Void, String)] = [
            ("missing table", { try Self.damage($0, sql: "DROP TABLE tensor") }, "table 'tensor' is missing"),
            ("newer schema", { try Self.damage($0, sql: "INSERT INTO grdb_migrations VALUES ('v2: float16 tensors')") },
             "it was written by a newer Peephole (schema migrations this binary does not know: 'v2: float16 tensors'); use a newer peephole"),
            ("not SQLite", { path in
                try Self.damage(path)
                try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
            }, "file is not a database"),
            ("truncated file", { path in
                try Self.damage(path)
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
            }, "database disk image is malformed"),
        ]
        for (name, damage, reason) in faults {
            let store = try TestStore([.onehot])
            defer { store.remove() }
            try damage(store.path)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: Self.binary)
            server.arguments = ["serve", "--store", store.path, "--port", "0", "--host", "127.0.0.1"]
            server.currentDirectoryURL = store.directory
            let errors = Pipe()
            server.standardOutput = FileHandle.nullDevice
            server.standardError = errors
            try server.run()
            for _ in 0..<500 where server.isRunning { Thread.sleep(forTimeInterval: 0.02) }
            if server.isRunning { kill(server.processIdentifier, SIGKILL) }
            server.waitUntilExit()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(server.terminationStatus == 1, "\(name)")
            #expect(output == "peephole: store \(store.path): \(reason)\n", "\(name)")
        }
    }

    /// Runs `sql` on the store at `path`, checkpoints it so every page is in the main file (and a
    /// later edit of the file is not undone by the WAL), then fills with `pageByte` the page that holds the middle of `chars`' first kernel.
    static func damage(_ path: String, sql: String? = nil, pageByte: UInt8? = nil) throws {
        let queue = try DatabaseQueue(path: path)
        if let sql { try queue.write { db in try db.execute(sql: sql) } }
        try queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        guard let pageByte else { return }
        let kernel = try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT data FROM tensor WHERE name = 'kernel' ORDER BY length(data) DESC LIMIT 1")!
        }
        var file = try Data(contentsOf: URL(fileURLWithPath: path))
        let offset = try #require(file.firstRange(of: kernel[(kernel.count / 2)..<(kernel.count / 2 + 64)])).lowerBound
        let page = offset / 4096 * 4096
        file.replaceSubrange(page..<(page + 4096), with: Data(repeating: pageByte, count: 4096))
        try file.write(to: URL(fileURLWithPath: path))
    }
}
