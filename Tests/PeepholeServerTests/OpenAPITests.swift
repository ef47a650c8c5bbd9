import Foundation
import Testing
@testable import PeepholeServer

/// The committed OpenAPI document describes exactly the routes the router serves.
@Suite struct OpenAPITests {
    @Test func documentPathsAndMethodsEqualTheRoutersRoutes() throws {
        let testStore = try TestStore([])
        defer { testStore.remove() }
        let registry = ModelRegistry(store: testStore.store, defaultModel: nil, logger: quietLogger)
        let router = buildRouter(registry: registry, metrics: ServerMetrics(), config: .test)
        let served = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })

        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes())) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })

        #expect(served.subtracting(documented).isEmpty, "routes missing from openapi.json: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented routes the router lacks: \(documented.subtracting(served).sorted())")
        #expect(served.count == 53)
    }
}
