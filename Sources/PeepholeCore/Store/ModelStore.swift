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
            guard access == .readWrite else { throw PeepholeError.storeFailure(path: path, reason: "no such file") }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(10)
            let migrator = StoreSchema.migrator
            switch access {
            case .readWrite:
                let pool = try DatabasePool(path: path, configuration: configuration)
                try migrator.migrate(pool)
                database = pool
            case .readOnly:
                configuration.readonly = true
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                guard try queue.read(migrator.hasCompletedMigrations) else {
                    let known = try queue.read { db in try migrator.appliedIdentifiers(db) }
                    throw PeepholeError.storeFailure(path: path, reason: known.isEmpty
                        ? "not a Peephole model store (import a model into it first)"
                        : "its schema is older than this binary's; open it once with 'peephole import' to upgrade it")
                }
                database = queue
            }
        } catch let error as DatabaseError {
            throw PeepholeError.storeFailure(path: path, reason: error.message ?? "\(error)")
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
                            Self.json(file.architecture.inputShape), file.architecture.inputDType.rawValue,
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

    /// The model requests without a model name act on: `configured` if given, else the only
    /// model in the store.
    public func defaultModel(configured: String? = nil) throws -> String {
        let names = try read { db in try String.fetchAll(db, sql: "SELECT name FROM model ORDER BY name") }
        if let configured {
            guard names.contains(configured) else { throw PeepholeError.unknownModel(configured) }
            return configured
        }
        guard names.count == 1 else {
            throw PeepholeError.noDefaultModel(names.isEmpty ? "the store is empty" : "the store holds \(names.count) models (\(names.joined(separator: ", "))); name one")
        }
        return names[0]
    }

    /// The description of `version` of `model` (the newest when nil).
    public func versionInfo(model: String, version: Int? = nil) throws -> VersionInfo {
        try read { db in try Self.versionInfo(db, model: model, version: Self.resolve(db, model: model, version: version)) }
    }

    /// Loads `version` of `model` (the newest when nil), verifying every tensor's checksum and
    /// shape and re-reading every layer's configuration.
    public func load(model: String, version: Int? = nil) throws -> LoadedModel {
        try read { db in
            let number = try Self.resolve(db, model: model, version: version)
            let info = try Self.versionInfo(db, model: model, version: number)
            func damaged(_ reason: String) -> PeepholeError { .damagedModel(model: model, version: number, reason: reason) }
            let rows = try Row.fetchAll(db, sql: """
                SELECT layer.id, layer.name, layer.class_name, layer.config FROM layer
                JOIN version ON version.id = layer.version_id JOIN model ON model.id = version.model_id
                WHERE model.name = ? AND version.number = ? ORDER BY layer.position
                """, arguments: [model, number])
            var layers: [KerasLayer] = []
            var weights: [[NamedTensor]] = []
            for row in rows {
                let name: String = row["name"], className: String = row["class_name"], configText: String = row["config"]
                guard let object = try? JSONSerialization.jsonObject(with: Data(configText.utf8)) as? [String: Any],
                      let config = object["config"] as? [String: Any] else {
                    throw damaged("layer '\(name)' has an unreadable configuration")
                }
                let kind: LayerKind
                do {
                    kind = try KerasLayerParser.parse(className: className, config: config, kerasMajor: KerasModelFile.major(info.kerasVersion))
                } catch let error as PeepholeError {
                    throw damaged(error.description)
                }
                layers.append(KerasLayer(name: name, className: className, configJSON: configText, kind: kind))
                let tensorRows = try Row.fetchAll(db, sql: "SELECT name, shape, data, sha256 FROM tensor WHERE layer_id = ? ORDER BY position",
                                                  arguments: [row["id"] as Int64])
                weights.append(try tensorRows.map { tensorRow in
                    let tensorName: String = tensorRow["name"], blob: Data = tensorRow["data"], digest: String = tensorRow["sha256"]
                    guard TensorCoding.sha256(blob) == digest else {
                        throw damaged("tensor '\(name)/\(tensorName)' fails its SHA-256 check")
                    }
                    guard let shape = try? JSONDecoder().decode([Int].self, from: Data((tensorRow["shape"] as String).utf8)),
                          shape.reduce(1, *) * 4 == blob.count else {
                        throw damaged("tensor '\(name)/\(tensorName)' has \(blob.count) bytes, which does not match its shape")
                    }
                    return NamedTensor(name: tensorName, tensor: Tensor(shape: shape, data: TensorCoding.decode(blob)))
                })
            }
            let architecture = KerasArchitecture(inputShape: Array(info.inputShape.dropFirst()), inputDType: info.inputDType, layers: layers)
            do {
                return LoadedModel(info: info, network: try Network(architecture: architecture, weights: weights))
            } catch let error as PeepholeError {
                throw damaged(error.description)
            }
        }
    }

    // MARK: helpers

    private static func resolve(_ db: Database, model: String, version: Int?) throws -> Int {
        guard let modelID = try Int64.fetchOne(db, sql: "SELECT id FROM model WHERE name = ?", arguments: [model]) else {
            throw PeepholeError.unknownModel(model)
        }
        let newest = try Int.fetchOne(db, sql: "SELECT MAX(number) FROM version WHERE model_id = ?", arguments: [modelID])
        guard let version else {
            guard let newest else { throw PeepholeError.unknownModel(model) }
            return newest
        }
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM version WHERE model_id = ? AND number = ?", arguments: [modelID, version]) != nil else {
            throw PeepholeError.unknownVersion(model: model, version: version)
        }
        return version
    }

    private static func versionInfo(_ db: Database, model: String, version: Int) throws -> VersionInfo {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT version.* FROM version JOIN model ON model.id = version.model_id WHERE model.name = ? AND version.number = ?
            """, arguments: [model, version]) else {
            throw PeepholeError.unknownVersion(model: model, version: version)
        }
        func decode<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
            guard let text = row[column] as String?, let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else {
                throw PeepholeError.damagedModel(model: model, version: version, reason: "column \(column) is unreadable")
            }
            return value
        }
        let layers = try Row.fetchAll(db, sql: "SELECT name, class_name, output_shape, parameter_count FROM layer WHERE version_id = ? ORDER BY position",
                                      arguments: [row["id"] as Int64]).map { layer in
            guard let shape = try? JSONDecoder().decode([Int?].self, from: Data((layer["output_shape"] as String).utf8)) else {
                throw PeepholeError.damagedModel(model: model, version: version, reason: "layer output shape is unreadable")
            }
            return LayerInfo(name: layer["name"], className: layer["class_name"], outputShape: [nil] + shape, parameterCount: layer["parameter_count"])
        }
        guard let dtype = InputDType(rawValue: row["input_dtype"] as String) else {
            throw PeepholeError.damagedModel(model: model, version: version, reason: "unknown input dtype")
        }
        return VersionInfo(
            model: model, version: version, importedAt: row["imported_at"], sourceFile: row["source_file"],
            sourceSHA256: row["source_sha256"], format: row["format"], kerasVersion: row["keras_version"],
            inputShape: [nil] + (try decode([Int?].self, "input_shape")), inputDType: dtype,
            vocabulary: row["vocabulary"] == nil ? nil : try decode([String].self, "vocabulary"), layers: layers)
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch let error as DatabaseError {
            throw PeepholeError.storeFailure(path: path, reason: error.message ?? "\(error)")
        }
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch let error as DatabaseError {
            throw PeepholeError.storeFailure(path: path, reason: error.message ?? "\(error)")
        }
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
