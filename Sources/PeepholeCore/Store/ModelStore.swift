import Crypto
import Foundation
import GRDB

/// The SQLite model store: models, their versions, layers and weights, in one file (WAL mode).
///
/// Each import is one transaction, so a failed or interrupted import leaves the store as it was.
public final class ModelStore: Sendable {
    /// How a store is opened.
    public enum Access: Sendable {
        /// Imports write; a missing file (and its directory) is created. WAL mode.
        case readWrite
        /// Only reads: the file must exist and is never written, so a committed store stays
        /// byte-identical when it is served.
        case readOnly
    }

    /// The store file.
    public let path: String
    private let database: any DatabaseWriter

    /// Opens the store at `path`, migrating it to the current schema when writing.
    public init(path: String, access: Access = .readWrite) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard access == .readWrite else {
                throw PeepholeError.storeFailure(path: path, reason: "no such file; import a model into it with `peephole import`, or name another with --store")
            }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(10)
            switch access {
            case .readWrite:
                let pool = try DatabasePool(path: path, configuration: configuration)
                if let reason = try pool.read(StoreSchema.newerSchema) { throw PeepholeError.storeFailure(path: path, reason: reason) }
                try StoreSchema.migrator.migrate(pool)
                database = pool
            case .readOnly:
                if let reason = Self.truncation(path) { throw PeepholeError.storeFailure(path: path, reason: reason) }
                configuration.readonly = true
                do {
                    database = try Self.openReadOnly(path, configuration: configuration)
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CANTOPEN || error.resultCode == .SQLITE_READONLY {
                    // A WAL store on a read-only file system (KServe's /mnt/models): SQLite cannot
                    // create its -wal and -shm files. Immutable, it reads the main file as it is,
                    // without them and without locks, so it never sees a later import (none can come).
                    let uri = "file:" + path.replacingOccurrences(of: "%", with: "%25")
                        .replacingOccurrences(of: "?", with: "%3f").replacingOccurrences(of: "#", with: "%23") + "?immutable=1"
                    database = try Self.openReadOnly(uri, configuration: configuration)
                }
            }
        } catch let error as DatabaseError {
            throw PeepholeError.storeFailure(path: path, reason: error.message ?? "\(error)")
        } catch is RowDecodingError {
            throw PeepholeError.storeFailure(path: path, reason: "its list of models holds a value of the wrong type")
        }
    }

    /// Stores `file` as the next version of model `name`, with an optional vocabulary.
    @discardableResult
    public func importModel(_ file: KerasModelFile, name: String, vocabulary: [String]? = nil, now: Date = Date()) throws -> VersionInfo {
        try Self.validate(name: name)
        if let vocabulary { try Self.validate(vocabulary: vocabulary, for: file.architecture) }
        let shapes = try file.architecture.outputShapes()
        let timestamp = ISO8601DateFormatter().string(from: now)
        let number = try write { db -> Int in
            let modelID: Int64
            if let id = try Int64.fetchOne(db, sql: "SELECT id FROM model WHERE name = ?", arguments: [name]) {
                modelID = id
            } else {
                try db.execute(sql: "INSERT INTO model (name, created_at) VALUES (?, ?)", arguments: [name, timestamp])
                modelID = db.lastInsertedRowID
            }
            let number = (try Int.fetchOne(db, sql: "SELECT MAX(number) FROM version WHERE model_id = ?", arguments: [modelID]) ?? 0) + 1
            try db.execute(
                sql: """
                    INSERT INTO version (model_id, number, imported_at, source_file, source_sha256, format, keras_version,
                                         input_shape, input_dtype, vocabulary)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [modelID, number, timestamp, file.sourceFile, file.sha256, file.format.rawValue, file.kerasVersion,
                            Self.storedInputs(file.architecture), file.architecture.inputDType.rawValue,
                            vocabulary.map(Self.json)])
            let versionID = db.lastInsertedRowID
            for (position, layer) in file.architecture.layers.enumerated() {
                let weights = file.weights[position]
                try db.execute(
                    sql: """
                        INSERT INTO layer (version_id, position, name, class_name, config, output_shape, parameter_count)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [versionID, position, layer.name, layer.className, layer.configJSON, Self.json(shapes[position]),
                                weights.reduce(0) { $0 + $1.tensor.data.count }])
                let layerID = db.lastInsertedRowID
                for (index, weight) in weights.enumerated() {
                    let blob = TensorCoding.encode(weight.tensor.data)
                    try db.execute(
                        sql: "INSERT INTO tensor (layer_id, position, name, shape, data, sha256) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [layerID, index, weight.name, Self.json(weight.tensor.shape), blob, TensorCoding.sha256(blob)])
                }
            }
            return number
        }
        return try versionInfo(model: name, version: number)
    }

    /// Every model with its versions, by name.
    public func models() throws -> [ModelSummary] {
        try read { db in
            let names = try String.fetchAll(db, sql: "SELECT name FROM model ORDER BY name")
            return try names.map { name in
                let numbers = try Int.fetchAll(db, sql: """
                    SELECT number FROM version JOIN model ON model.id = version.model_id WHERE model.name = ? ORDER BY number
                    """, arguments: [name])
                return ModelSummary(name: name, versions: try numbers.map { try Self.versionInfo(db, model: name, version: $0) })
            }
        }
    }

    /// Every model's version numbers, oldest first, without reading the versions themselves, so
    /// one damaged version cannot hide the others.
    public func versionNumbers() throws -> [String: [Int]] {
        try read(Self.versionNumbers)
    }

    static func versionNumbers(_ db: Database) throws -> [String: [Int]] {
        var numbers: [String: [Int]] = [:]
        for name in try String.fetchAll(db, sql: "SELECT name FROM model") { numbers[name] = [] }
        for row in try Row.fetchAll(db, sql: "SELECT model.name, version.number FROM version JOIN model ON model.id = version.model_id ORDER BY number") {
            numbers[try row.decode(String.self, atIndex: 0), default: []].append(try row.decode(Int.self, atIndex: 1))
        }
        return numbers
    }

    /// What SQLite's `PRAGMA quick_check` finds wrong with the file's pages (at most `limit`
    /// findings), empty when nothing. It reads every page once, so it is run at start only;
    /// which models a finding damages is decided by loading them.
    public func quickCheck(limit: Int = 10) throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(\(limit))") }
            .flatMap { $0.split(separator: "\n").map(String.init) }
            .filter { $0 != "ok" && !$0.hasPrefix("*** in database") }
    }

    /// SQLite's `PRAGMA data_version` on this store's one writing (or, read-only, only)
    /// connection: it changes when another connection — another process's `peephole import` —
    /// commits, which is how a running server notices new versions without polling the tables.
    public func dataVersion() throws -> Int {
        do {
            return try database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        } catch let error as DatabaseError {
            throw PeepholeError.storeFailure(path: path, reason: error.message ?? "\(error)")
        }
    }

    /// The model requests without a model name act on: `configured` if given, else the only
    /// model in the store.
    public func defaultModel(configured: String? = nil) throws -> String {
        let names = try read { db in try String.fetchAll(db, sql: "SELECT name FROM model ORDER BY name") }
        if let configured {
            guard names.contains(configured) else { throw PeepholeError.unknownModel(configured) }
            return configured
        }
        return try Self.onlyModel(among: names)
    }

    /// The default when none is configured: the only model among `names`, else `noDefaultModel`.
    public static func onlyModel(among names: [String]) throws(PeepholeError) -> String {
        guard names.count == 1 else {
            throw .noDefaultModel(names.isEmpty
                ? "the store is empty"
                : "the store holds \(names.count) models (\(names.sorted().joined(separator: ", "))) and none is configured as default; name one")
        }
        return names[0]
    }

    // MARK: helpers


    /// Runs `body` in a read transaction, mapping SQLite errors to `storeFailure`.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch let error as DatabaseError {
            throw PeepholeError.storeFailure(path: path, reason: error.message ?? "\(error)")
        } catch is RowDecodingError {
            throw PeepholeError.storeFailure(path: path, reason: "a row holds a value of the wrong type")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch let error as DatabaseError {
            throw PeepholeError.storeFailure(path: path, reason: error.message ?? "\(error)")
        }
    }

    /// What the version's `input_shape` column holds: a chain's input shape, as it always has, or
    /// the wiring of a graph model (`KerasGraph` as JSON, an object where a shape is an array), so
    /// that chains are stored exactly as before and graphs need no new column.
    static func storedInputs(_ architecture: KerasArchitecture) -> String {
        architecture.graph.isChain ? json(architecture.inputShape) : json(architecture.graph)
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: try! JSONEncoder().encode(value), as: UTF8.self)
    }

    /// Model names are looked up, never used as paths: letters, digits, `.`, `_`, `-`.
    static func validate(name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy(allowed.contains), name.first != "." else {
            throw PeepholeError.invalidInput(field: "name", message: "model names are 1 to 64 letters, digits, '.', '_' or '-', got '\(name)'")
        }
    }

    /// A vocabulary must have distinct tokens and fit the model's input.
    static func validate(vocabulary: [String], for architecture: KerasArchitecture) throws {
        guard !vocabulary.isEmpty, Set(vocabulary).count == vocabulary.count else {
            throw PeepholeError.invalidInput(field: "vocabulary", message: "needs distinct tokens, got \(vocabulary.count) with \(vocabulary.count - Set(vocabulary).count) repeated")
        }
        if case let .embedding(inputDim, _, _)? = architecture.layers.first?.kind {
            guard vocabulary.count <= inputDim else {
                throw PeepholeError.invalidInput(field: "vocabulary", message: "has \(vocabulary.count) tokens but the Embedding takes ids below \(inputDim)")
            }
        } else if let width = architecture.inputShape.last ?? nil, width != vocabulary.count {
            throw PeepholeError.invalidInput(field: "vocabulary", message: "has \(vocabulary.count) tokens but the model's one-hot input is \(width) wide")
        }
    }
}

/// How tensors are stored: float32 little-endian BLOBs with a SHA-256.
enum TensorCoding {
    static func encode(_ values: [Float]) -> Data {
        var data = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func decode(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
