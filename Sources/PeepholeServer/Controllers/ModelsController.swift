import Hummingbird
import PeepholeCore
import PeepholeProtocols

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
    @Sendable func list(_ request: Request, context: some RequestContext) async throws -> ModelListResponse {
        let catalog = try registry.snapshot()
        let defaultName = catalog.defaultName
        let models = catalog.models.keys.sorted().map { name in
            let entry = catalog.models[name]!
            return ModelListEntry(name: name, isDefault: name == defaultName, servedVersion: entry.newestLoaded,
                                  versions: entry.infos.map { ($0, entry.damaged[$0.version]) })
        }
        return ModelListResponse(defaultModel: defaultName, models: models)
    }

    /// One version in full: the newest that loaded, or the one named.
    @Sendable func describe(_ request: Request, context: some RequestContext) async throws -> VersionResponse {
        VersionResponse(try registry.model(in: context))
    }

    /// The layer table of the default model, a named model, or a named version.
    @Sendable func layers(_ request: Request, context: some RequestContext) async throws -> LayersResponse {
        LayersResponse(try registry.model(in: context))
    }
}
