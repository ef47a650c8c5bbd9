import Hummingbird
import NIOCore
import PeepholeCore
import PeepholeProtocols

/// `/admin/*`: operations on the running server. With `admin_token` configured they need
/// `Authorization: Bearer <token>`; without one they are served to loopback clients only.
struct AdminController {
    /// Where models come from.
    let registry: ModelRegistry
    /// The configured token, if any.
    let token: String?

    /// Registers the routes behind the admin check.
    func addRoutes(to router: Router<PeepholeRequestContext>) {
        router.group("/admin")
            .add(middleware: AdminAccess(token: token))
            .post("/reload", use: reload)
    }

    /// Loads the versions imported since the last load: `{"loaded": [{"model", "version"}], "damaged": […]}`.
    @Sendable func reload(_ request: Request, context: PeepholeRequestContext) async throws -> ReloadResponse {
        let outcome = try registry.reload()
        return ReloadResponse(loaded: outcome.loaded, damaged: outcome.damaged)
    }
}

/// Refuses admin requests without the configured bearer token (401), or, with none configured,
/// from anywhere but loopback (403).
struct AdminAccess: RouterMiddleware {
    typealias Context = PeepholeRequestContext
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let token {
            guard request.headers.value(of: .authorization) == "Bearer \(token)" else { throw ServerError.adminTokenRequired }
        } else {
            guard let address = context.remoteAddress, Self.isLoopback(address) else { throw ServerError.adminLoopbackOnly }
        }
        return try await next(request, context)
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        guard let ip = address.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }
}
