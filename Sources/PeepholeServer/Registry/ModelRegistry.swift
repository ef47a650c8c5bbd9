import Foundation
import Logging
import PeepholeCore

/// Every version of every model in the store, loaded once at start and served from memory.
///
/// Loading happens once (`load()`, run by `ModelLoaderService`); until then `isReady` is false
/// and lookups throw `ServerError.notReady`. After loading the catalog never changes, so
/// concurrent requests read it under a lock and run the immutable networks in parallel.
public final class ModelRegistry: @unchecked Sendable {
    private let store: ModelStore
    private let configuredDefault: String?
    private let logger: Logger
    private let lock = NSLock()
    private var catalog: Catalog?

    /// A registry over `store`; `defaultModel` is the configured default, if any.
    public init(store: ModelStore, defaultModel: String?, logger: Logger) {
        self.store = store
        self.configuredDefault = defaultModel
        self.logger = logger
    }

    /// Whether `load()` has finished.
    public var isReady: Bool { lock.withLock { catalog != nil } }

    /// Loads every version of every model, logging one line per model; damaged versions are
    /// logged and listed with the reason, and every healthy one is served. First runs SQLite's
    /// quick check and logs what it finds. Throws when the store's list of models cannot be read
    /// or the configured default model is not in it.
    public func load() throws {
        checkPages()
        var models: [String: ModelEntry] = [:]
        for (name, numbers) in try store.versionNumbers().sorted(by: { $0.key < $1.key }) {
            var entry = ModelEntry(name: name)
            for number in numbers {
                do {
                    let loaded = try store.load(model: name, version: number)
                    entry.loaded[number] = loaded
                    entry.infos.append(loaded.info)
                } catch {
                    let damage = error as? PeepholeError ?? .damagedModel(model: name, version: number, reason: "\(error)")
                    entry.damaged[number] = damage
                    entry.infos.append((try? store.versionInfo(model: name, version: number)) ?? .unreadable(model: name, version: number))
                    logger.error("Skipping a version that does not load", metadata: [
                        "model.name": "\(name)", "model.version": "\(number)", "error": "\(damage.description)",
                    ])
                }
            }
            models[name] = entry
            let newest = entry.newestLoaded.map { entry.loaded[$0]!.info }
            var metadata: Logger.Metadata = [
                "model.name": "\(name)",
                "model.versions": "\(entry.loaded.keys.sorted().map(String.init).joined(separator: ","))",
                "model.parameters": "\(newest?.parameterCount ?? 0)",
                "model.input_shape": "\(newest.map { Network.describe($0.inputShape) } ?? "-")",
            ]
            if !entry.damaged.isEmpty {
                metadata["model.damaged_versions"] = "\(entry.damaged.keys.sorted().map(String.init).joined(separator: ","))"
            }
            logger.info("Loaded model", metadata: metadata)
        }
        let defaultModel: Result<String, PeepholeError>
        if let configuredDefault {
            guard models[configuredDefault] != nil else {
                throw PeepholeError.noDefaultModel("the configured default model '\(configuredDefault)' is not in the store \(store.path)")
            }
            defaultModel = .success(configuredDefault)
        } else if models.count == 1 {
            defaultModel = .success(models.keys.first!)
        } else {
            let names = models.keys.sorted()
            defaultModel = .failure(.noDefaultModel(names.isEmpty
                ? "the store is empty"
                : "the store holds \(names.count) models (\(names.joined(separator: ", "))) and none is configured as default; use /models/{model}/..."))
        }
        if models.isEmpty { logger.warning("The store holds no models", metadata: ["store.path": "\(store.path)"]) }
        lock.withLock { catalog = Catalog(models: models, defaultModel: defaultModel) }
    }

    /// Logs what SQLite's quick check finds. A finding does not stop the server: the versions it
    /// touches fail their own load (SQLite error or SHA-256), and the rest are verified by theirs.
    private func checkPages() {
        let started = ContinuousClock.now
        do {
            let problems = try store.quickCheck()
            let metadata: Logger.Metadata = ["store.path": "\(store.path)", "duration": "\(ContinuousClock.now - started)"]
            if problems.isEmpty {
                logger.debug("The store passes SQLite's quick check", metadata: metadata)
            } else {
                logger.error("The store fails SQLite's quick check; versions that verify are still served",
                             metadata: metadata.merging(["store.problems": "\(problems.joined(separator: "; "))"]) { $1 })
            }
        } catch {
            logger.error("SQLite's quick check cannot run", metadata: ["store.path": "\(store.path)", "error": "\(error)"])
        }
    }

    /// The loaded catalog, or `notReady`.
    func snapshot() throws -> Catalog {
        guard let catalog = lock.withLock({ catalog }) else { throw ServerError.notReady }
        return catalog
    }

    /// The version a request names: `model` nil for the default model, `version` nil for its
    /// newest loaded version; `version` is the raw path segment.
    func model(_ name: String?, version: String?) throws -> LoadedModel {
        let catalog = try snapshot()
        let entry = try catalog.entry(name)
        guard let version else {
            guard let newest = entry.newestLoaded else { throw entry.damaged.max { $0.key < $1.key }!.value }
            return entry.loaded[newest]!
        }
        guard let number = Int(version), number > 0, String(number) == version else {
            throw ServerError.invalidVersion(model: entry.name, segment: version)
        }
        if let loaded = entry.loaded[number] { return loaded }
        if let damage = entry.damaged[number] { throw damage }
        throw PeepholeError.unknownVersion(model: entry.name, version: number)
    }
}

/// What the registry holds once loaded.
struct Catalog: Sendable {
    /// The models by name.
    var models: [String: ModelEntry]
    /// The default model's name, or why there is none.
    var defaultModel: Result<String, PeepholeError>

    /// The default model's name, if there is one.
    var defaultName: String? { try? defaultModel.get() }

    /// The entry of `name`, or of the default model when nil.
    func entry(_ name: String?) throws -> ModelEntry {
        let name = try name ?? defaultModel.get()
        guard let entry = models[name] else { throw PeepholeError.unknownModel(name) }
        return entry
    }
}

/// One model's versions: those that loaded, and those that did not with the reason.
struct ModelEntry: Sendable {
    /// The model's name.
    var name: String
    /// The store's description of every version, oldest first.
    var infos: [VersionInfo] = []
    /// The versions ready to run.
    var loaded: [Int: LoadedModel] = [:]
    /// The versions that failed to load, with the error.
    var damaged: [Int: PeepholeError] = [:]

    /// The newest version that loaded.
    var newestLoaded: Int? { loaded.keys.max() }
}
