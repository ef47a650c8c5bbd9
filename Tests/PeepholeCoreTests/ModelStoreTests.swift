import Foundation
import GRDB
import Testing
@testable import PeepholeCore

@Suite struct ModelStoreTests {
    let directory = Fixtures.temporaryDirectory()
    var storePath: String { directory.appendingPathComponent("store.sqlite").path }
    let modelPath = Fixtures.own.appendingPathComponent("embed_mask.k3.keras").path

    @Test func importsAddNumberedVersions() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: storePath)
        let first = try store.importModel(try KerasModelFile.read(path: modelPath), name: "chars")
        let second = try store.importModel(try KerasModelFile.read(path: modelPath), name: "chars")
        #expect(first.version == 1)
        #expect(second.version == 2)
        #expect(try store.models().map(\.name) == ["chars"])
        #expect(try store.versionInfo(model: "chars").version == 2)
        #expect(try store.versionInfo(model: "chars", version: 1).layers.map(\.className) == ["Embedding", "LSTM", "LSTM", "Dense"])
        #expect(first.sourceSHA256.count == 64)
        #expect(first.inputDType == .int32)
        #expect(first.inputShape == [nil, 7])
    }

    @Test func failedImportLeavesTheStoreAsItWas() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: storePath)
        try store.importModel(try KerasModelFile.read(path: modelPath), name: "chars")
        let before = try snapshot()

        // Two layers of one name violate a UNIQUE constraint after the version, the first
        // layer and its tensors were written: the whole transaction must roll back.
        var broken = try KerasModelFile.read(path: modelPath)
        broken.architecture.layers[2].name = broken.architecture.layers[1].name
        #expect(throws: PeepholeError.self) { try store.importModel(broken, name: "chars") }
        #expect(throws: PeepholeError.self) { try store.importModel(broken, name: "other") }
        #expect(try snapshot() == before)
        #expect(try store.load(model: "chars").info.version == 1)
    }

    @Test func damagedTensorIsDetectedAndOtherModelsStillLoad() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: storePath)
        try store.importModel(try KerasModelFile.read(path: modelPath), name: "damaged")
        try store.importModel(try KerasModelFile.read(path: modelPath), name: "healthy")
        try DatabaseQueue(path: storePath).write { db in
            try db.execute(sql: """
                UPDATE tensor SET data = zeroblob(length(data)) WHERE id = (
                    SELECT tensor.id FROM tensor JOIN layer ON layer.id = tensor.layer_id
                    JOIN version ON version.id = layer.version_id JOIN model ON model.id = version.model_id
                    WHERE model.name = 'damaged' AND tensor.name = 'recurrent_kernel' LIMIT 1)
                """)
        }
        #expect {
            try store.load(model: "damaged")
        } throws: { error in
            guard case let .damagedModel(model, version, reason) = error as? PeepholeError else { return false }
            return model == "damaged" && version == 1 && reason.contains("SHA-256")
        }
        #expect(try store.load(model: "healthy").network.layers.count == 4)
    }

    @Test func truncatedTensorIsDetected() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: storePath)
        try store.importModel(try KerasModelFile.read(path: modelPath), name: "chars")
        try DatabaseQueue(path: storePath).write { db in
            try db.execute(sql: "UPDATE tensor SET data = substr(data, 1, 8), sha256 = '' WHERE name = 'kernel'")
        }
        #expect(throws: PeepholeError.self) { try store.load(model: "chars") }
    }

    @Test func unknownNamesAreReported() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: storePath)
        try store.importModel(try KerasModelFile.read(path: modelPath), name: "chars")
        #expect(throws: PeepholeError.unknownModel("nope")) { try store.load(model: "nope") }
        #expect(throws: PeepholeError.unknownVersion(model: "chars", version: 9)) { try store.load(model: "chars", version: 9) }
        #expect(try store.defaultModel() == "chars")
        #expect(throws: PeepholeError.self) { try store.importModel(try KerasModelFile.read(path: modelPath), name: "../etc") }
    }

    @Test func vocabularyMustFitTheModel() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: storePath)
        let file = try KerasModelFile.read(path: modelPath)
        #expect(throws: PeepholeError.self) { try store.importModel(file, name: "chars", vocabulary: Array(repeating: "a", count: 3)) }
        #expect(throws: PeepholeError.self) { try store.importModel(file, name: "chars", vocabulary: (0..<13).map { String($0) }) }
        let info = try store.importModel(file, name: "chars", vocabulary: ["_", "a", "b", "c"])
        #expect(info.vocabulary == ["_", "a", "b", "c"])
        #expect(try store.models().flatMap(\.versions).count == 1)
    }

    @Test func unreadableFilesAreRefusedWithTheirPath() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = directory.appendingPathComponent("notes.keras")
        try Data("not a model".utf8).write(to: text)
        #expect(throws: PeepholeError.unreadableFile(path: text.path, reason: "neither a .keras archive (zip) nor a legacy .h5 (HDF5) file")) {
            try KerasModelFile.read(path: text.path)
        }
        let missing = directory.appendingPathComponent("missing.h5").path
        #expect(throws: PeepholeError.self) { try KerasModelFile.read(path: missing) }
    }

    /// Every row of every table, to compare a store before and after.
    private func snapshot() throws -> [String] {
        try DatabaseQueue(path: storePath).read { db in
            try ["model", "version", "layer", "tensor"].flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY id").map { "\(table): \($0)" }
            }
        }
    }
}
