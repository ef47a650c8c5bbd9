import Foundation
import Hummingbird
import PeepholeCore

/// `GET /models`, `GET /models/{model}[/versions/{version}]` and the layer lists.
struct ModelsController {
    /// Where models come from.
    let registry: ModelRegistry

    /// Registers the routes.
    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/models", use: list)
        router.get("/models/:model", use: describe)
        router.get("/models/:model/versions/:version", use: describe)
        for prefix in InferenceController.prefixes {
            router.get(RouterPath("\(prefix)/layers"), use: layers)
        }
    }

    /// Every model, its versions and which is the default.
    @Sendable func list(_ request: Request, context: some RequestContext) async throws -> Response {
        let catalog = try registry.snapshot()
        let defaultName = catalog.defaultName
        let models = catalog.models.keys.sorted().map { ModelListEntry(catalog.models[$0]!, isDefault: $0 == defaultName) }
        return try .encoded(ModelListResponse(defaultModel: defaultName, models: models))
    }

    /// One version in full: the newest that loaded, or the one named.
    @Sendable func describe(_ request: Request, context: some RequestContext) async throws -> Response {
        let model = try registry.model(context.parameters.get("model"), version: context.parameters.get("version"))
        return try .encoded(VersionResponse(model.info))
    }

    /// The layer table of the default model, a named model, or a named version.
    @Sendable func layers(_ request: Request, context: some RequestContext) async throws -> Response {
        let model = try registry.model(context.parameters.get("model"), version: context.parameters.get("version"))
        return try .encoded(LayersResponse(model.info))
    }
}

extension Response {
    /// A JSON response of an `Encodable` value; keys sorted so the output is stable.
    static func encoded(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return .json(Array(try encoder.encode(value)), status: status)
    }
}
