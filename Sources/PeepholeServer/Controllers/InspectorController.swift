import Foundation
import Hummingbird
import PeepholeCore
import PeepholeProtocols

/// The inspector: its web page (`GET /`, `/inspect/…` deep links, `/inspector/{file}` assets,
/// served from the target's resources, no build step) and the API behind it: the corpus stored
/// with a model, a unit's statistics over it, and LSTMVis-style matching.
struct InspectorController {
    /// Where models and their corpora come from.
    let registry: ModelRegistry
    /// The routes' implementation, with the server's runner.
    let api: PeepholeAPI
    /// Reads request bodies.
    let decoder: PeepholeBodyDecoder
    /// Corpus activations by model version, layer and field.
    let cache: InspectorCache

    /// The page's files and their media types.
    static let assets: [String: String] = [
        "index.html": "text/html; charset=utf-8", "inspector.js": "text/javascript; charset=utf-8",
        "inspector-views.js": "text/javascript; charset=utf-8", "inspector.css": "text/css; charset=utf-8",
    ]

    /// Registers the routes.
    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/", use: page)
        router.get("/inspect/:view", use: page)
        router.get("/inspector/:file", use: asset)
        router.get("/models/:model/corpus", use: corpus)
        for prefix in InferenceController.prefixes {
            router.get(RouterPath("\(prefix)/layers/:layer/units/:unit"), use: unit)
            router.post(RouterPath("\(prefix)/layers/:layer/match"), use: match)
        }
    }

    /// The page's views, the deep links `/inspect/{view}`.
    static let views: Set<String> = ["read", "unit", "generate", "model"]

    /// The page; it reads its state from the URL. A view it does not have is 404.
    @Sendable func page(_ request: Request, context: some RequestContext) async throws -> Response {
        if let view = context.parameters.get("view"), !Self.views.contains(view) {
            throw ServerError.routeNotFound(method: "GET", path: request.uri.path)
        }
        return try Self.file("index.html")
    }

    /// One of the page's files.
    @Sendable func asset(_ request: Request, context: some RequestContext) async throws -> Response {
        try Self.file(try context.parameters.require("file"))
    }

    /// `{"model", "texts": [{"name", "characters", "added_at"}]}`.
    @Sendable func corpus(_ request: Request, context: some RequestContext) async throws -> CorpusResponse {
        let model = try registry.model(in: context)
        return CorpusResponse(model: model.info.model, corpus: try registry.corpus(model.info.model))
    }

    /// A unit's statistics over the corpus: `?field=h|c|i|f|g|o&k=10`.
    @Sendable func unit(_ request: Request, context: some RequestContext) async throws -> UnitStatisticsResponse {
        let query = request.uri.queryParameters
        return try await api.unitStatistics(
            model: try registry.model(in: context), layer: try context.parameters.require("layer"), unit: try context.parameters.require("unit"),
            field: query["field"].map(String.init), k: query["k"].map(String.init), source: cache)
    }

    /// The corpus runs where a set of units is on together.
    @Sendable func match(_ request: Request, context: some RequestContext) async throws -> MatchResponse {
        let body = try await decoder.decode(MatchRequest.self, from: request)
        return try await api.match(body, model: try registry.model(in: context), layer: try context.parameters.require("layer"), source: cache)
    }

    private static func file(_ name: String) throws -> Response {
        guard let type = assets[name], let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Inspector"),
              let data = FileManager.default.contents(atPath: url.path) else {
            throw ServerError.routeNotFound(method: "GET", path: "/inspector/\(name)")
        }
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
