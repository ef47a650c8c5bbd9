import Hummingbird
import PeepholeCore
import PeepholeProtocols

/// TensorFlow Serving's REST routes under `/v1/models`: version status, signature metadata and
/// `:predict`. Errors are `{"error": "<message>"}`.
struct TFServingController {
    /// Where models come from.
    let registry: ModelRegistry
    /// The routes' implementation, with the server's runner.
    let api: TFServingAPI
    /// Reads and writes bodies (compression).
    let coding: ProtocolBodyCoding

    /// Registers the routes.
    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group("/v1/models").add(middleware: ProtocolErrorMiddleware<Context>())
        group.get(":model", use: status)
        group.get(":model/metadata", use: metadata)
        group.post("{model}:predict", use: predict)
        group.get(":model/versions/:version", use: status)
        group.get(":model/versions/:version/metadata", use: metadata)
        group.post(":model/versions/{version}:predict", use: predict)
    }

    /// `{"model_version_status": [...]}`: the version named, or every loaded version.
    @Sendable func status(_ request: Request, context: some RequestContext) async throws -> Response {
        let model = try registry.model(in: context)
        let versions = context.parameters.get("version") != nil
            ? [model.info.version] : Array(try registry.snapshot().entry(model.info.model).loaded.keys)
        return coding.response(api.status(versions: versions), headers: Self.json, to: request)
    }

    /// `{"model_spec", "metadata": {"signature_def": ...}}`.
    @Sendable func metadata(_ request: Request, context: some RequestContext) async throws -> Response {
        coding.response(api.metadata(try registry.model(in: context)), headers: Self.json, to: request)
    }

    /// `{"predictions"}` for `instances`, `{"outputs"}` for `inputs`.
    @Sendable func predict(_ request: Request, context: some RequestContext) async throws -> Response {
        let model = try registry.model(in: context)
        let body = try await coding.read(request)
        return coding.response(try await api.predict(body.readableBytesView, model: model), headers: Self.json, to: request)
    }

    private static let json: HTTPFields = [.contentType: "application/json"]
}
