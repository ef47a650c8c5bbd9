import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import PeepholeCore
import Testing
@testable import PeepholeServer

/// Loading: `/ready` before and after, damaged versions skipped, a missing default refused.
@Suite struct ReadinessTests {
    @Test func readyIs503UntilModelsAreLoadedWhileHealthIs200() async throws {
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let registry = ModelRegistry(store: testStore.store, defaultModel: nil, logger: quietLogger)
        let app = Application(router: buildRouter(registry: registry, metrics: ServerMetrics(), config: .test), logger: quietLogger)
        try await app.test(.router) { client in
            #expect(try await client.get("/health").status == .ok)
            let loading = try await client.get("/ready")
            #expect(loading.status == .serviceUnavailable)
            #expect(loading.json["status"] as? String == "loading")
            let early = try await client.post("/predict", #"{"text": ["abcdef"]}"#)
            #expect(early.status == .serviceUnavailable && early.errorCode == "not_ready")
            try registry.load()
            #expect(try await client.get("/ready").status == .ok)
            #expect(try await client.post("/predict", #"{"text": ["abcdef"]}"#).status == .ok)
        }
    }

    @Test func damagedVersionIsSkippedAndHealthyVersionsServe() async throws {
        try await withServer(prepare: { testStore in
            try testStore.store.importModel(try KerasModelFile.read(path: Fixtures.keras.appendingPathComponent("onehot.k3.keras").path), name: "onehot")
            try DatabaseQueue(path: testStore.path).write { db in
                try db.execute(sql: """
                    UPDATE tensor SET data = zeroblob(length(data)) WHERE id = (
                        SELECT tensor.id FROM tensor JOIN layer ON layer.id = tensor.layer_id
                        JOIN version ON version.id = layer.version_id JOIN model ON model.id = version.model_id
                        WHERE model.name = 'onehot' AND version.number = 2 LIMIT 1)
                    """)
            }
        }) { client in
            let models = try #require(try await client.get("/models").json["models"] as? [[String: Any]])
            let onehot = try #require(models.first { $0["name"] as? String == "onehot" })
            #expect(onehot["served_version"] as? Int == 1)
            let versions = try #require(onehot["versions"] as? [[String: Any]])
            #expect(versions.map { $0["status"] as? String } == ["ready", "damaged"])
            #expect((versions[1]["error"] as? String)?.contains("SHA-256") == true)

            let served = try await client.post("/predict", #"{"text": ["abcdef"]}"#)
            #expect(served.status == .ok && served.json["version"] as? Int == 1)
            let damaged = try await client.post("/models/onehot/versions/2/predict", #"{"text": ["abcdef"]}"#)
            #expect(damaged.status == .serviceUnavailable && damaged.errorCode == "damaged_model")
            #expect(try await client.post("/models/embed/predict", #"{"text": ["abcdefg"]}"#).status == .ok)
        }
    }

    @Test func configuredDefaultModelMissingFromTheStoreIsRefused() throws {
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let registry = ModelRegistry(store: testStore.store, defaultModel: "chars", logger: quietLogger)
        #expect { try registry.load() } throws: { error in
            (error as? PeepholeError)?.description.contains("'chars'") == true
        }
    }

    @Test func concurrentRequestsAllSucceed() async throws {
        try await withServer { client in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        let uri = index.isMultiple(of: 2) ? "/predict" : "/models/embed/predict"
                        let body = index.isMultiple(of: 2) ? oneHotInputs(batch: 8, steps: 20) : #"{"text": ["abcdefg", "gfedcba"]}"#
                        return try await client.post(uri, body).status == .ok
                    }
                }
                for try await ok in group { #expect(ok) }
            }
        }
    }
}
