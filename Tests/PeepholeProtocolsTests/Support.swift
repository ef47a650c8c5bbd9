import Foundation
import PeepholeCore
@testable import PeepholeProtocols
// The fixtures, tolerances and JSON numbers every file here uses.
@_exported import PeepholeTestSupport

/// The Peephole JSON API run directly, body in and body out, as `peephole predict` runs it.
struct DirectAPI {
    let api = PeepholeAPI(limits: RequestLimits(), runner: DirectRunner())

    /// The model input a `/predict` body gives, checked against `model`.
    func input(_ body: String, _ model: LoadedModel) throws -> Tensor {
        try PeepholeJSON.decode(PredictRequest.self, from: Array(body.utf8), limits: api.limits).input.tensor(for: model, limits: api.limits)
    }

    /// The answer to `POST /predict` with `body`.
    func predict(_ body: String, _ model: LoadedModel) async throws -> [String: Any] {
        let request = try PeepholeJSON.decode(PredictRequest.self, from: Array(body.utf8), limits: api.limits)
        return try Self.object(try await api.predict(request, model: model))
    }

    /// The answer to `POST /layers/{layer}/output` with `body`.
    func layerOutput(_ layer: String, _ body: String, _ model: LoadedModel) async throws -> [String: Any] {
        let request = try PeepholeJSON.decode(LayerOutputRequest.self, from: Array(body.utf8), limits: api.limits)
        return try Self.object(try await api.layerOutput(request, layer: layer, model: model))
    }

    /// The answer to a session step with `body`.
    func step(_ body: String, _ session: TestSession) async throws -> [String: Any] {
        try Self.object(try await api.step(try PeepholeJSON.decode(SessionStepRequest.self, from: Array(body.utf8), limits: api.limits), session: session))
    }

    /// The answer to setting a session's states with `body`.
    func setStates(_ body: String, _ session: TestSession) throws -> [String: Any] {
        try Self.object(try api.setStates(try PeepholeJSON.decode(SessionStatesRequest.self, from: Array(body.utf8), limits: api.limits), session: session))
    }

    /// `value` encoded and read back with Foundation.
    static func object(_ value: some Encodable) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try PeepholeJSON.encode(value))) as! [String: Any]
    }
}

/// A session kept in memory, as the server's registry keeps one.
final class TestSession: SessionHolder, @unchecked Sendable {
    let model: LoadedModel
    private var state: SessionState
    private let lock = NSLock()

    init(_ model: LoadedModel, id: String = "s") {
        self.model = model
        state = SessionState(id: id)
    }

    func withState<T>(_ body: (inout SessionState) throws -> T) rethrows -> T {
        try lock.withLock { try body(&state) }
    }
}
