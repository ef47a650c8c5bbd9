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
        let matching = routes.filter { route in
            route.segments.count == segments.count && zip(route.segments, segments).allSatisfy(Self.matches)
        }
        // As the router does, the route with the most literal text wins: TF Serving's
        // `{model}:predict` over `{model}`.
        let literal = matching.map { Self.literalLength($0.segments) }.max()
        let allowed = matching.filter { Self.literalLength($0.segments) == literal }.map(\.method)
        guard allowed.isEmpty else {
            throw ServerError.methodNotAllowed(method: request.method.rawValue, path: path, allowed: Array(Set(allowed)).sorted())
        }
        throw ServerError.routeNotFound(method: request.method.rawValue, path: path)
    }

    /// Whether a path segment fits a route's: the same text, or a capture (`{model}`, and
    /// `{model}:predict` for a segment ending in `:predict`).
    private static func matches(_ pattern: Substring, _ segment: Substring) -> Bool {
        guard pattern.hasPrefix("{"), let close = pattern.firstIndex(of: "}") else { return pattern == segment }
        let suffix = pattern[pattern.index(after: close)...]
        return segment.count > suffix.count && segment.hasSuffix(suffix)
    }

    /// The characters of a route's segments outside its captures.
    private static func literalLength(_ segments: [Substring]) -> Int {
        segments.reduce(0) { total, segment in
            guard segment.hasPrefix("{"), let close = segment.firstIndex(of: "}") else { return total + segment.count }
            return total + segment.distance(from: segment.index(after: close), to: segment.endIndex)
        }
    }
}
