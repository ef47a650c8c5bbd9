import Foundation
import Hummingbird
import PeepholeProtocols

/// `GET /health`, `/ready`, `/metrics` and `/openapi.json`: what operators and clients ask
/// about the server itself.
struct OperationsController {
    /// Whose readiness `/ready` reports.
    let registry: ModelRegistry
    /// What `/metrics` renders.
    let metrics: ServerMetrics
    /// Set on SIGTERM: `/ready` fails from then on.
    var drain = DrainState()

    /// Registers the routes.
    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/health", use: health)
        router.get("/ready", use: ready)
        router.get("/metrics", use: renderMetrics)
        router.get("/openapi.json", use: openAPI)
    }

    /// 200 while the process is up.
    @Sendable func health(_ request: Request, context: some RequestContext) async throws -> StatusResponse {
        StatusResponse(status: "ok")
    }

    /// 200 once every model is loaded, 503 before, and 503 again once shutdown begins.
    @Sendable func ready(_ request: Request, context: some RequestContext) async throws -> EditedResponse<StatusResponse> {
        if drain.isDraining {
            return EditedResponse(status: .serviceUnavailable, response: StatusResponse(status: "draining"))
        }
        guard let catalog = try? registry.snapshot() else {
            return EditedResponse(status: .serviceUnavailable, response: StatusResponse(status: "loading"))
        }
        return EditedResponse(response: StatusResponse(status: "ready", models: catalog.models.count))
    }

    /// The Prometheus text exposition.
    @Sendable func renderMetrics(_ request: Request, context: some RequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
    }

    /// The OpenAPI 3.1 document of every route (`Sources/PeepholeServer/openapi.json`).
    @Sendable func openAPI(_ request: Request, context: some RequestContext) async throws -> Response {
        .json(try OpenAPIDocument.bytes())
    }
}

/// The OpenAPI document kept in the repository beside the server's sources.
public enum OpenAPIDocument {
    /// The document's bytes, read from the target's resources.
    public static func bytes() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw HTTPError(.internalServerError, message: "openapi.json is missing from the server's resources")
        }
        return Array(try Data(contentsOf: url))
    }
}
