import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PeepholeCore
import Testing
@testable import PeepholeServer

/// Paths of the Keras fixtures (`Tests/Fixtures/keras`) and the package's build products.
enum Fixtures {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    /// The project's own Keras fixtures.
    static let keras = tests.appendingPathComponent("Fixtures/keras")
    /// The package root.
    static let package = tests.deletingLastPathComponent()

    /// A fresh temporary directory; the caller removes it.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("peephole-server-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A fixture model to import into a test store.
struct FixtureModel: Sendable {
    var file: String
    var name: String
    var vocabulary: [String]?

    /// Input (6, 10) one-hot → LSTM(8) → Dense(10, softmax), vocabulary a…j.
    static let onehot = FixtureModel(file: "onehot.k3.keras", name: "onehot", vocabulary: "abcdefghij".map(String.init))
    /// Token ids (7 steps) → Embedding(12, mask_zero) → LSTM(6, sequences) → LSTM(4) → Dense(12).
    static let embed = FixtureModel(file: "embed_mask.k3.keras", name: "embed", vocabulary: ["_"] + "abcdefghijk".map(String.init))
    /// Token ids → Embedding → Bidirectional LSTM ×2 → Dense(4); no vocabulary.
    static let bidi = FixtureModel(file: "bidi_concat.k3.keras", name: "bidi", vocabulary: nil)
    /// Inputs `sequence` (6 token ids) and `side` (5 floats) → outputs `cls` and `reg`.
    static let twoHeads = FixtureModel(file: "graphs/two_heads.k3.keras", name: "two_heads", vocabulary: nil)
}

/// A store in its own temporary directory, holding fixture models.
struct TestStore {
    let directory = Fixtures.temporaryDirectory()
    let store: ModelStore
    var path: String { store.path }

    init(_ models: [FixtureModel] = [.onehot, .embed, .bidi]) throws {
        store = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
        for model in models {
            try store.importModel(try KerasModelFile.read(path: Fixtures.keras.appendingPathComponent(model.file).path),
                                  name: model.name, vocabulary: model.vocabulary)
        }
    }

    /// Deletes the directory.
    func remove() { try? FileManager.default.removeItem(at: directory) }
}

extension ServerConfig {
    /// Defaults with `onehot` as default model, quiet logging.
    static var test: ServerConfig {
        var config = ServerConfig()
        config.defaultModel = "onehot"
        config.port = 0
        return config
    }
}

/// A logger that prints only problems.
let quietLogger: Logger = {
    var logger = Logger(label: "peephole-test")
    logger.logLevel = .critical
    return logger
}()

/// Runs `body` against an application over a fresh store, once its models are loaded.
func withServer(_ setup: TestingSetup = .router, models: [FixtureModel] = [.onehot, .embed, .bidi], config: ServerConfig = .test,
                logger: Logger = quietLogger, prepare: (TestStore) throws -> Void = { _ in },
                _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    let testStore = try TestStore(models)
    defer { testStore.remove() }
    try prepare(testStore)
    let app = buildApplication(config: config, store: testStore.store, logger: logger)
    try await app.test(setup) { client in
        _ = try await eventually(within: .seconds(5)) { try await client.execute(uri: "/ready", method: .get).status == .ok }
        try await body(client)
    }
}

/// Polls `condition` until it holds or `timeout` passes, and returns whether it held: for what
/// the server does in its own time, which a fixed sleep would race while the other tests running
/// alongside keep the machine busy.
func eventually(within timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

extension TestClientProtocol {
    /// POSTs `json` (text) to `uri`, with a JSON content type unless `contentType` says otherwise.
    func post(_ uri: String, _ json: String, contentType: String? = "application/json") async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    /// GETs `uri`.
    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

extension TestResponse {
    /// The body as a JSON object (or an empty one when it is not).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8))) as? [String: Any] ?? [:]
    }

    /// The body as text.
    var text: String { String(buffer: body) }

    /// `error.code` of a JSON error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }

    /// `error.message` of a JSON error body.
    var errorMessage: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
}

/// A valid `/predict` body for the one-hot model: `batch` sequences of `steps` one-hot rows.
func oneHotInputs(batch: Int = 1, steps: Int = 6) -> String {
    let row = "[" + (0..<10).map { $0 == 3 ? "1" : "0" }.joined(separator: ",") + "]"
    let sequence = "[" + Array(repeating: row, count: steps).joined(separator: ",") + "]"
    return #"{"inputs": ["# + Array(repeating: sequence, count: batch).joined(separator: ",") + "]}"
}
