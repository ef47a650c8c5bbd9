import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import PeepholeCore
import Testing
@testable import PeepholeServer

/// Hot reload: versions imported into the store of a running server are served without a
/// restart, under load, with no failed request; a version that does not load leaves the
/// previous one serving. Admin routes are guarded.
@Suite struct ReloadTests {
    static let onehot = Fixtures.keras.appendingPathComponent("onehot.k3.keras").path

    @Test func importsUnderLoadAreServedWithoutAFailedRequest() async throws {
        var config = ServerConfig.test
        config.reloadIntervalMilliseconds = 50
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let app = buildApplication(config: config, store: testStore.store, logger: quietLogger)
        try await app.test(.router) { client in
            while try await client.get("/ready").status != .ok { try await Task.sleep(for: .milliseconds(10)) }
            let failures = try await withThrowingTaskGroup(of: [Int].self) { group in
                let stop = ManagedFlag()
                group.addTask {
                    var statuses: [Int] = []
                    while !stop.isSet {
                        statuses.append(try await client.post("/predict", oneHotInputs()).status.code)
                    }
                    return statuses
                }
                // Another process's `peephole import`: its own connection, committing while we serve.
                let importer = try ModelStore(path: testStore.path)
                for _ in 0..<3 {
                    try importer.importModel(try KerasModelFile.read(path: Self.onehot), name: "onehot", vocabulary: FixtureModel.onehot.vocabulary)
                    try await Task.sleep(for: .milliseconds(120))
                }
                var served = 0
                _ = try await eventually(within: .seconds(4)) {
                    served = (try await client.get("/models/onehot").json["version"] as? Int) ?? 0
                    return served == 4
                }
                #expect(served == 4, "the newest import is served")
                stop.set()
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(!failures.isEmpty, "the load ran during the imports")
            #expect(failures.allSatisfy { $0 == 200 }, "\(failures.filter { $0 != 200 }.count) failed requests")
            #expect(try await client.post("/predict", oneHotInputs()).json["version"] as? Int == 4)
        }
    }

    @Test func aMissingOrWrongAdminTokenIs401() async throws {
        var config = ServerConfig.test
        config.reloadIntervalMilliseconds = 0
        config.adminToken = "secret"
        try await withServer(models: [.onehot], config: config) { client in
            #expect(try await client.post("/admin/reload", "").status == .unauthorized)
            let wrong = try await client.execute(uri: "/admin/reload", method: .post, headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorCode == "admin_token_required")
        }
    }

    @Test func reloadReportsDamagedVersionsAndKeepsServing() async throws {
        var config = ServerConfig.test
        config.reloadIntervalMilliseconds = 0
        config.adminToken = "secret"
        let testStore = try TestStore([.onehot])
        defer { testStore.remove() }
        let app = buildApplication(config: config, store: testStore.store, logger: quietLogger)
        try await app.test(.router) { client in
            while try await client.get("/ready").status != .ok { try await Task.sleep(for: .milliseconds(10)) }
            let importer = try ModelStore(path: testStore.path)
            try importer.importModel(try KerasModelFile.read(path: Self.onehot), name: "onehot", vocabulary: FixtureModel.onehot.vocabulary)
            try await DatabaseQueue(path: testStore.path).write { db in
                try db.execute(sql: """
                    UPDATE tensor SET sha256 = 'damaged' WHERE layer_id IN (
                        SELECT layer.id FROM layer JOIN version ON version.id = layer.version_id WHERE version.number = 2)
                    """)
            }
            let reload = try await client.execute(uri: "/admin/reload", method: .post, headers: [.authorization: "Bearer secret"])
            #expect(reload.status == .ok)
            #expect((reload.json["damaged"] as? [[String: Any]])?.first?["version"] as? Int == 2)
            let predicted = try await client.post("/predict", oneHotInputs())
            #expect(predicted.status == .ok)
            #expect(predicted.json["version"] as? Int == 1)
            #expect(try await client.post("/models/onehot/versions/2/predict", oneHotInputs()).status == .serviceUnavailable)
        }
    }

    @Test func withoutATokenAdminRoutesAreForLoopbackOnly() async throws {
        var config = ServerConfig.test
        config.reloadIntervalMilliseconds = 0
        try await withServer(models: [.onehot], config: config) { client in
            let refused = try await client.post("/admin/reload", "")
            #expect(refused.status == .forbidden, "an in-process request has no address, so it is not loopback")
            #expect(refused.errorCode == "admin_loopback_only")
        }
        try await withServer(.live, models: [.onehot], config: config) { client in
            let reloaded = try await client.post("/admin/reload", "")
            #expect(reloaded.status == .ok, "served to 127.0.0.1")
            #expect(reloaded.json["loaded"] as? [Any] != nil)
        }
    }
}

/// A flag one task sets and another polls.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
