import HTTPTypes
import Hummingbird
import PeepholeCore
import PeepholeProtocols

/// The KServe Open Inference Protocol (V2) REST routes under `/v2` (its health routes, which
/// also follow shutdown, are `V2HealthController`'s): server and model metadata, model readiness, and infer with Triton's binary tensor extension. Errors are
/// `{"error": "<message>"}`. A request's `parameters.sequence_id` runs it on the Peephole
/// session `v2-<model>-<sequence_id>`, readable through `GET /sessions/{id}`.
package struct KServeV2Controller {
    /// Where models come from.
    let registry: ModelRegistry
    /// Where sequences keep their state.
    let sessions: SessionRegistry
    /// The routes' implementation, with the server's runner.
    let api: KServeV2API
    /// Reads and writes bodies (compression).
    let coding: ProtocolBodyCoding
    /// The request limits bodies are read under.
    let limits: RequestLimits

    /// `Inference-Header-Content-Length`: the JSON header's length in a body with binary tensors.
    package static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!

    /// Registers the routes.
    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group("/v2").add(middleware: ProtocolErrorMiddleware<Context>())
        group.get("", use: serverMetadata)
        for prefix in ["/models/:model", "/models/:model/versions/:version"] {
            group.get(RouterPath(prefix), use: modelMetadata)
            group.get(RouterPath("\(prefix)/ready"), use: modelReady)
            group.post(RouterPath("\(prefix)/infer"), use: infer)
        }
    }

    /// `{"name", "version", "extensions"}`.
    @Sendable func serverMetadata(_ request: Request, context: some RequestContext) async throws -> Response {
        coding.response(api.serverMetadata(), headers: Self.json, to: request)
    }

    /// The model's name, versions, platform, inputs and outputs.
    @Sendable func modelMetadata(_ request: Request, context: some RequestContext) async throws -> Response {
        let model = try registry.model(in: context)
        let versions = try registry.snapshot().entry(model.info.model).loaded.keys
        return coding.response(api.modelMetadata(model, versions: Array(versions)), headers: Self.json, to: request)
    }

    /// 200 `{"name", "ready": true}` when the version is loaded; 404 for an unknown model or
    /// version, 503 while loading or for a damaged version.
    @Sendable func modelReady(_ request: Request, context: some RequestContext) async throws -> Response {
        let model = try registry.model(in: context)
        var writer = JSONWriter()
        writer.beginObject()
        writer.string(model.info.model, key: "name")
        writer.bool(true, key: "ready")
        writer.endObject()
        return .json(writer.bytes)
    }

    /// Runs an infer request; the answer is JSON, or a JSON header and binary outputs.
    @Sendable func infer(_ request: Request, context: some RequestContext) async throws -> Response {
        let model = try registry.model(in: context)
        let body = try await coding.read(request)
        let headerLength = request.headers.value(of: Self.headerLength)
        let infer = try body.withUnsafeReadableBytes { bytes in
            try V2InferRequest.read(bytes.assumingMemoryBound(to: UInt8.self), headerLength: headerLength, limits: limits)
        }
        let session = try infer.sequence.map { try sequenceSession($0, model: model, context: context) }
        let response = try await api.infer(infer, model: session?.model ?? model, session: session)
        if let session, infer.sequence?.end == true { session.ended.withLockedValue { $0 = true } }
        let (json, binary) = response.encoded()
        guard response.hasBinary else { return coding.response(json, headers: Self.json, to: request) }
        return coding.response(json + binary, headers: [.contentType: "application/octet-stream", Self.headerLength: String(json.count)], to: request)
    }

    /// The session of a sequence: opened afresh (zero state) by `sequence_start`, else the open
    /// one, which must not have ended and runs on the version the request names, if it names one.
    private func sequenceSession(_ sequence: V2Sequence, model: LoadedModel, context: some RequestContext) throws -> SessionRegistry.Entry {
        let id = "v2-\(model.info.model)-\(sequence.id)"
        if sequence.start { return try sessions.open(model, id: id) }
        guard let entry = try? sessions.session(id) else {
            throw PeepholeError.invalidInput(field: "parameters.sequence_id", message: "sequence \(sequence.id) of model '\(model.info.model)' is not open (never started, or expired): send sequence_start: true on its first request")
        }
        guard !entry.ended.withLockedValue({ $0 }) else {
            throw PeepholeError.invalidInput(field: "parameters.sequence_id", message: "sequence \(sequence.id) of model '\(model.info.model)' has ended: send sequence_start: true to start it again")
        }
        if context.parameters.get("version") != nil, entry.model.info.version != model.info.version {
            throw PeepholeError.invalidInput(field: "parameters.sequence_id", message: "sequence \(sequence.id) runs on version \(entry.model.info.version) of model '\(model.info.model)', not \(model.info.version)")
        }
        return entry
    }

    private static let json: HTTPFields = [.contentType: "application/json; charset=utf-8"]
}
