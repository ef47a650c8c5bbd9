import Hummingbird

/// Answers requests that match no route: 405 with `Allow` when the path is a route's path
/// under another method, else 404. Added to the router after every route, so it only wraps
/// Hummingbird's not-found responder; its errors become JSON in `ErrorMiddleware`.
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Every route as (method, path segments) with `{name}` captures.
    let routes: [(method: String, segments: [Substring])]

    /// The router's routes, for matching paths against.
    init(routes: [Router<Context>.RouteDescription]) {
        self.routes = routes.map { ($0.method.rawValue, $0.path.description.split(separator: "/")) }
    }

    /// Throws `methodNotAllowed` or `routeNotFound`; never calls `next`.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let segments = path.split(separator: "/")
        let allowed = routes.filter { route in
            route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { pattern, segment in
                pattern == segment || (pattern.hasPrefix("{") && pattern.hasSuffix("}"))
            }
        }.map(\.method)
        guard allowed.isEmpty else {
            throw ServerError.methodNotAllowed(method: request.method.rawValue, path: path, allowed: Array(Set(allowed)).sorted())
        }
        throw ServerError.routeNotFound(method: request.method.rawValue, path: path)
    }
}
