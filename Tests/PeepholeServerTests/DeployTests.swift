import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import PeepholeCore
import Testing
@testable import PeepholeServer

/// What an orchestrator needs: the V2 health routes, readiness that fails on shutdown, a store
/// found in KServe's model directory, and a WAL store served from a read-only file system.
@Suite struct DeployTests {
    @Test func v2HealthIs200WhenTrueAnd503WhenNotReady() async throws {
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let registry = ModelRegistry(store: testStore.store, defaultModel: nil, logger: quietLogger)
        let drain = DrainState()
        let app = Application(router: buildRouter(registry: registry, metrics: ServerMetrics(), config: .test, drain: drain), logger: quietLogger)
        try await app.test(.router) { client in
            #expect(try await client.get("/v2/health/live").status == .ok)
            let loading = try await client.get("/v2/health/ready")
            #expect(loading.status == .serviceUnavailable && loading.json["ready"] as? Bool == false)
            try registry.load()
            let ready = try await client.get("/v2/health/ready")
            #expect(ready.status == .ok && ready.json["ready"] as? Bool == true)
            #expect(try await client.get("/ready").status == .ok)

            drain.begin()
            #expect(try await client.get("/v2/health/ready").status == .serviceUnavailable)
            let draining = try await client.get("/ready")
            #expect(draining.status == .serviceUnavailable && draining.json["status"] as? String == "draining")
            #expect(try await client.get("/v2/health/live").status == .ok)
            #expect(try await client.get("/health").status == .ok)
            // Requests still arriving on open connections are served while the server drains.
            #expect(try await client.post("/predict", #"{"text": ["abcdef"]}"#).status == .ok)
        }
    }

    @Test func modelDirServesPeepholeSqliteOrTheOnlyStoreInIt() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func touch(_ name: String) { FileManager.default.createFile(atPath: directory.appendingPathComponent(name).path, contents: Data()) }
        func resolved(_ environment: [String: String]) throws -> String {
            try ServerConfig.resolve(file: nil, environment: environment).storePath()
        }
        let dir = directory.path
        #expect(try resolved([:]) == "models/peephole.sqlite")
        #expect(throws: ConfigError.self) { try resolved(["PEEPHOLE_MODEL_DIR": dir]) }
        touch("chars.sqlite")
        touch("chars.sqlite-wal")
        touch(".hidden.sqlite")
        #expect(try resolved(["PEEPHOLE_MODEL_DIR": dir, "PEEPHOLE_STORE": "elsewhere.sqlite"]) == directory.appendingPathComponent("chars.sqlite").path)
        touch("other.sqlite")
        #expect { try resolved(["PEEPHOLE_MODEL_DIR": dir]) } throws: { error in
            (error as? ConfigError)?.description.contains("chars.sqlite, other.sqlite") == true
        }
        touch("peephole.sqlite")
        #expect(try resolved(["PEEPHOLE_MODEL_DIR": dir]) == directory.appendingPathComponent("peephole.sqlite").path)
        let file = directory.appendingPathComponent("other.sqlite").path
        #expect(try ServerConfig.resolve(file: nil, overrides: [.modelDir: file]).storePath() == file)
        #expect(throws: ConfigError.self) { try resolved(["PEEPHOLE_MODEL_DIR": dir + "/missing"]) }
    }

    @Test func walStoreWhoseSideFilesCannotBeCreatedIsOpenedImmutable() throws {
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        // Everything into the main file, which stays in WAL mode; then a copy alone in a directory
        // where the -wal and -shm files cannot be created (directories stand in their place, which
        // stops root too, as a read-only mount does).
        try DatabaseQueue(path: testStore.path).writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("store.sqlite").path
        try FileManager.default.copyItem(atPath: testStore.path, toPath: copy)
        for suffix in ["-wal", "-shm"] {
            try FileManager.default.createDirectory(atPath: copy + suffix, withIntermediateDirectories: false)
        }
        let header = try #require(FileHandle(forReadingAtPath: copy)).readData(ofLength: 20)
        #expect(header[18] == 2 && header[19] == 2, "the copy must be a WAL-mode store")
        var plain = Configuration()
        plain.readonly = true
        #expect(throws: DatabaseError.self, "a plain read-only open fails here") {
            try DatabaseQueue(path: copy, configuration: plain).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model") }
        }

        let store = try ModelStore(path: copy, access: .readOnly)
        #expect(try store.versionNumbers() == ["onehot": [1]])
        #expect(try store.quickCheck().isEmpty)
        _ = try store.dataVersion()
    }
}
