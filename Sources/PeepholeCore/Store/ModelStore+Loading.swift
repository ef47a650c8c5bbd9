import Foundation
import GRDB

/// Reading versions back: every row a version's description and network come from, checked on
/// the way (checksums, shapes, configurations, SQLite's own errors), so a damaged version fails
/// with `damagedModel` and never takes another version with it.
extension ModelStore {
    /// The description of `version` of `model` (the newest when nil).
    public func versionInfo(model: String, version: Int? = nil) throws -> VersionInfo {
        try read { db in
            let number = try Self.resolve(db, model: model, version: version)
            return try Self.readingVersion(model: model, version: number) { try Self.versionInfo(db, model: model, version: number) }
        }
    }

    /// Loads `version` of `model` (the newest when nil), verifying every tensor's checksum and
    /// shape and re-reading every layer's configuration.
    public func load(model: String, version: Int? = nil) throws -> LoadedModel {
        try read { db in
            let number = try Self.resolve(db, model: model, version: version)
            return try Self.readingVersion(model: model, version: number) { try Self.load(db, model: model, version: number) }
        }
    }

    /// Runs `body`, which reads one version's rows: whatever SQLite or a row decoder throws there
    /// (a corrupt page, a value of the wrong type) damages that version only.
    private static func readingVersion<T>(model: String, version: Int, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PeepholeError {
            throw error
        } catch let error as DatabaseError {
            throw PeepholeError.damagedModel(model: model, version: version, reason: "SQLite cannot read it: \(error.message ?? "\(error)")")
        } catch {
            throw PeepholeError.damagedModel(model: model, version: version, reason: "a row holds a value of the wrong type")
        }
    }

    private static func load(_ db: Database, model: String, version number: Int) throws -> LoadedModel {
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
            let name = try row.decode(String.self, forColumn: "name"), className = try row.decode(String.self, forColumn: "class_name")
            let configText = try row.decode(String.self, forColumn: "config")
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
                                              arguments: [try row.decode(Int64.self, forColumn: "id")])
            weights.append(try tensorRows.map { tensorRow in
                let tensorName = try tensorRow.decode(String.self, forColumn: "name"), blob = try tensorRow.decode(Data.self, forColumn: "data")
                let digest = try tensorRow.decode(String.self, forColumn: "sha256")
                guard TensorCoding.sha256(blob) == digest else {
                    throw damaged("tensor '\(name)/\(tensorName)' fails its SHA-256 check")
                }
                guard let shape = try? JSONDecoder().decode([Int].self, from: Data(tensorRow.decode(String.self, forColumn: "shape").utf8)),
                      shape.reduce(1, *) * 4 == blob.count else {
                    throw damaged("tensor '\(name)/\(tensorName)' has \(blob.count) bytes, which does not match its shape")
                }
                return NamedTensor(name: tensorName, tensor: Tensor(shape: shape, data: TensorCoding.decode(blob)))
            })
        }
        let architecture = info.graph.map { KerasArchitecture(layers: layers, graph: $0) }
            ?? KerasArchitecture(inputShape: Array(info.inputShape.dropFirst()), inputDType: info.inputDType, layers: layers)
        guard architecture.graph.calls.count == layers.count else { throw damaged("its graph does not match its \(layers.count) layers") }
        do {
            return LoadedModel(info: info, network: try Network(architecture: architecture, weights: weights))
        } catch let error as PeepholeError {
            throw damaged(error.description)
        }
    }

    static func resolve(_ db: Database, model: String, version: Int?) throws -> Int {
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

    static func versionInfo(_ db: Database, model: String, version: Int) throws -> VersionInfo {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT version.* FROM version JOIN model ON model.id = version.model_id WHERE model.name = ? AND version.number = ?
            """, arguments: [model, version]) else {
            throw PeepholeError.unknownVersion(model: model, version: version)
        }
        func decode<T: Decodable>(_ type: T.Type, _ column: String) throws -> T {
            guard let text = try? row.decode(String.self, forColumn: column), let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else {
                throw PeepholeError.damagedModel(model: model, version: version, reason: "column \(column) is unreadable")
            }
            return value
        }
        let layers = try Row.fetchAll(db, sql: "SELECT name, class_name, output_shape, parameter_count FROM layer WHERE version_id = ? ORDER BY position",
                                      arguments: [try row.decode(Int64.self, forColumn: "id")]).map { layer in
            guard let shape = try? JSONDecoder().decode([Int?].self, from: Data(layer.decode(String.self, forColumn: "output_shape").utf8)) else {
                throw PeepholeError.damagedModel(model: model, version: version, reason: "layer output shape is unreadable")
            }
            return LayerInfo(name: try layer.decode(forColumn: "name"), className: try layer.decode(forColumn: "class_name"),
                             outputShape: [nil] + shape, parameterCount: try layer.decode(forColumn: "parameter_count"))
        }
        // A graph model keeps its wiring where a chain keeps its input shape (see `storedInputs`).
        let graph = (try? row.decode(String.self, forColumn: "input_shape")).flatMap { try? JSONDecoder().decode(KerasGraph.self, from: Data($0.utf8)) }
        let inputShape = try graph?.inputs[0].shape ?? decode([Int?].self, "input_shape")
        guard let dtype = InputDType(rawValue: try row.decode(forColumn: "input_dtype")) else {
            throw PeepholeError.damagedModel(model: model, version: version, reason: "unknown input dtype")
        }
        return VersionInfo(
            model: model, version: version, importedAt: try row.decode(forColumn: "imported_at"), sourceFile: try row.decode(forColumn: "source_file"),
            sourceSHA256: try row.decode(forColumn: "source_sha256"), format: try row.decode(forColumn: "format"),
            kerasVersion: try row.decode(forColumn: "keras_version"),
            inputShape: [nil] + inputShape, inputDType: dtype,
            vocabulary: row["vocabulary"] == nil ? nil : try decode([String].self, "vocabulary"), layers: layers, graph: graph)
    }
}
