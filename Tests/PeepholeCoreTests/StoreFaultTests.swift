import Foundation
import GRDB
import Testing
@testable import PeepholeCore

/// Damaged stores, made with real edits of the SQLite file: a fault under one model's rows
/// damages that model only; a fault in the store as a whole refuses the store at open, naming
/// the path and the reason.
@Suite struct StoreFaultTests {
    @Test func corruptPageUnderOneModelsTensorDamagesOnlyThatModel() throws {
        let store = try DamageableStore()
        defer { store.remove() }
        let offset = try store.offsetOfTensor(model: "chars", tensor: "kernel")
        try store.overwrite(page: offset / store.pageSize, with: 0xA5)

        let opened = try ModelStore(path: store.path, access: .readOnly)
        #expect(try opened.quickCheck().contains { $0.contains("invalid page number") })
        #expect(throws: PeepholeError.damagedModel(model: "chars", version: 1, reason: "SQLite cannot read it: database disk image is malformed")) {
            try opened.load(model: "chars")
        }
        #expect(try opened.load(model: "onehot").info.version == 1)
    }

    @Test func flippedTensorBytesFailTheChecksumAndPassSQLitesCheck() throws {
        let store = try DamageableStore()
        defer { store.remove() }
        try store.flip(bytes: try store.offsetOfTensor(model: "chars", tensor: "kernel")..<(try store.offsetOfTensor(model: "chars", tensor: "kernel") + 64))

        let opened = try ModelStore(path: store.path, access: .readOnly)
        #expect(try opened.quickCheck() == [])
        #expect(throws: PeepholeError.damagedModel(model: "chars", version: 1, reason: "tensor 'lstm/kernel' fails its SHA-256 check")) {
            try opened.load(model: "chars")
        }
        #expect(try opened.load(model: "onehot").info.version == 1)
    }

    @Test func truncatedTensorWithAMatchingChecksumFailsTheShapeCheck() throws {
        let store = try DamageableStore()
        defer { store.remove() }
        try store.edit { db in
            let blob = try Data.fetchOne(db, sql: "SELECT data FROM tensor WHERE id = ?", arguments: [try store.tensorID(db, model: "chars", tensor: "kernel")])!
            let truncated = blob.prefix(1000)
            try db.execute(sql: "UPDATE tensor SET data = ?, sha256 = ? WHERE data = ?", arguments: [truncated, TensorCoding.sha256(truncated), blob])
        }
        let opened = try ModelStore(path: store.path, access: .readOnly)
        #expect(throws: PeepholeError.damagedModel(model: "chars", version: 1, reason: "tensor 'lstm/kernel' has 1000 bytes, which does not match its shape")) {
            try opened.load(model: "chars")
        }
        #expect(try opened.load(model: "onehot").info.version == 1)
    }

    @Test func valuesOfTheWrongTypeDamageTheirVersionWithoutACrash() throws {
        let store = try DamageableStore()
        defer { store.remove() }
        try store.edit { db in
            try db.execute(sql: "UPDATE tensor SET data = 42 WHERE id = ?", arguments: [try store.tensorID(db, model: "chars", tensor: "kernel")])
            try db.execute(sql: "UPDATE version SET source_file = x'00ff' WHERE source_file = 'onehot.k3.keras'")
        }
        let opened = try ModelStore(path: store.path, access: .readOnly)
        #expect(try opened.versionNumbers() == ["chars": [1], "onehot": [1]])
        #expect(throws: PeepholeError.damagedModel(model: "chars", version: 1, reason: "a row holds a value of the wrong type")) {
            try opened.load(model: "chars")
        }
        #expect(throws: PeepholeError.damagedModel(model: "onehot", version: 1, reason: "a row holds a value of the wrong type")) {
            try opened.versionInfo(model: "onehot")
        }
    }

    @Test func missingTableOrColumnRefusesTheStore() throws {
        for (edit, reason) in [("DROP TABLE tensor", "table 'tensor' is missing"),
                               ("ALTER TABLE version DROP COLUMN input_dtype", "table 'version' has no column 'input_dtype' of type TEXT")] {
            let store = try DamageableStore()
            defer { store.remove() }
            try store.edit { db in try db.execute(sql: edit) }
            #expect(throws: PeepholeError.storeFailure(path: store.path, reason: reason)) {
                try ModelStore(path: store.path, access: .readOnly)
            }
        }
    }

    @Test func newerSchemaIsNeitherServedNorWritten() throws {
        let store = try DamageableStore()
        defer { store.remove() }
        try store.edit { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v2: tensors in float16')") }
        let before = try store.rowCounts()
        let reason = "it was written by a newer Peephole (schema migrations this binary does not know: 'v2: tensors in float16'); use a newer peephole"
        #expect(throws: PeepholeError.storeFailure(path: store.path, reason: reason)) { try ModelStore(path: store.path, access: .readOnly) }
        #expect(throws: PeepholeError.storeFailure(path: store.path, reason: reason)) { try ModelStore(path: store.path) }
        #expect(try store.rowCounts() == before)
    }

    @Test func filesThatAreNotAWholeSQLiteStoreAreRefusedWithPathAndReason() throws {
        let store = try DamageableStore()
        defer { store.remove() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: store.path))
        let cases: [(Data, String)] = [
            (bytes.prefix(bytes.count / 2), "database disk image is malformed"),
            (Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7919) }), "file is not a database"),
            (Data(), "not a Peephole model store (import a model into it first)"),
        ]
        for (content, reason) in cases {
            try content.write(to: URL(fileURLWithPath: store.path))
            #expect(throws: PeepholeError.storeFailure(path: store.path, reason: reason)) { try ModelStore(path: store.path, access: .readOnly) }
        }
    }
}

/// A store holding the demo model `chars` (tensors of up to 76 KiB, so they span pages of their
/// own) and the fixture `onehot`, closed and checkpointed so its file can be edited byte by byte.
struct DamageableStore {
    let directory = Fixtures.temporaryDirectory()
    var path: String { directory.appendingPathComponent("store.sqlite").path }
    let pageSize = 4096

    init() throws {
        let store = try ModelStore(path: path)
        try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent("onehot.k3.keras").path), name: "onehot")
        try store.importModel(try KerasModelFile.read(path: DemoModelTests.models.appendingPathComponent("chars.keras").path), name: "chars")
        var size: Int?
        try edit { db in size = try Int.fetchOne(db, sql: "PRAGMA page_size") }
        #expect(size == pageSize)
    }

    /// Runs SQL edits, then checkpoints so every page is in the main file and no WAL remains.
    func edit(_ body: (Database) throws -> Void) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write(body)
        try queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// The id of `model`'s first tensor named `tensor`.
    func tensorID(_ db: Database, model: String, tensor: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: """
            SELECT tensor.id FROM tensor JOIN layer ON layer.id = tensor.layer_id JOIN version ON version.id = layer.version_id
            JOIN model ON model.id = version.model_id WHERE model.name = ? AND tensor.name = ? ORDER BY tensor.id LIMIT 1
            """, arguments: [model, tensor])!
    }

    /// How many rows each table holds.
    func rowCounts() throws -> [Int] {
        var counts: [Int] = []
        try edit { db in
            counts = try ["grdb_migrations", "model", "version", "layer", "tensor"].map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)")! }
        }
        return counts
    }

    /// Where in the file the middle of that tensor's BLOB lies (past the part stored beside the
    /// row, so on an overflow page that holds nothing else).
    func offsetOfTensor(model: String, tensor: String) throws -> Int {
        var blob = Data()
        try edit { db in blob = try Data.fetchOne(db, sql: "SELECT data FROM tensor WHERE id = ?", arguments: [try tensorID(db, model: model, tensor: tensor)])! }
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        let middle = blob.count / 2
        let found = try #require(file.firstRange(of: blob[middle..<(middle + 64)]))
        return found.lowerBound
    }

    /// Fills page `index` (0-based) with `byte`.
    func overwrite(page index: Int, with byte: UInt8) throws {
        try rewrite { $0.replaceSubrange(index * pageSize..<(index + 1) * pageSize, with: Data(repeating: byte, count: pageSize)) }
    }

    /// Inverts every bit of `range`.
    func flip(bytes range: Range<Int>) throws {
        try rewrite { data in for index in range { data[index] ^= 0xFF } }
    }

    private func rewrite(_ change: (inout Data) -> Void) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&data)
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Deletes the directory.
    func remove() { try? FileManager.default.removeItem(at: directory) }
}
