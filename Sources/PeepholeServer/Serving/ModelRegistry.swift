import Foundation
import NIOConcurrencyHelpers
import Logging
import PeepholeCore

/// Every version of every model in the store, loaded into memory and served from there.
///
/// `load()` (run by `ModelLoaderService` at start) loads everything; until then `isReady` is
/// false and lookups throw `ServerError.notReady`. `reload()` (run when the store changes, or by
/// `POST /admin/reload`) loads the versions imported since and swaps in a new catalog: versions
/// already loaded are kept as they are, so a request in flight finishes on the version it
/// started on, and requests without a version move to the newest. A new version that fails to
/// load is listed as damaged and the previous one goes on serving.
public final class ModelRegistry: Sendable {
    /// What a reload found: the versions it loaded, and those that failed.
    public struct ReloadOutcome: Sendable {
        /// Newly served versions.
        public var loaded: [(model: String, version: Int)] = []
        /// New versions that did not load.
        public var damaged: [(model: String, version: Int)] = []
    }

    private let store: ModelStore
    private let configuredDefault: String?
    private let logger: Logger
    /// Held for a whole reload, so that reloads run one at a time.
    private let reloading = NIOLock()
    private let catalog = NIOLockedValueBox<Catalog?>(nil)

    /// A registry over `store`; `defaultModel` is the configured default, if any.
    public init(store: ModelStore, defaultModel: String?, logger: Logger) {
        self.store = store
        self.configuredDefault = defaultModel
        self.logger = logger
    }

    /// Whether `load()` has finished.
    public var isReady: Bool { catalog.withLockedValue { $0 != nil } }

    /// Loads every version of every model, logging one line per model; damaged versions are
    /// logged and listed with the reason, and every healthy one is served. First runs SQLite's
    /// quick check and logs what it finds. Throws when the store's list of models cannot be read
    /// or the configured default model is not in it.
    public func load() throws {
        checkPages()
        try reload()
    }

    /// Loads the versions added to the store since the last load and serves them.
    @discardableResult
    public func reload() throws -> ReloadOutcome {
        try reloading.withLock {
            let previous = catalog.withLockedValue { $0 }
            var outcome = ReloadOutcome()
            var models: [String: ModelEntry] = [:]
            for (name, numbers) in try store.versionNumbers().sorted(by: { $0.key < $1.key }) {
                var entry = previous?.models[name] ?? ModelEntry(name: name)
                do {
                    entry.corpus = try store.corpus(model: name)
                } catch {
                    // A corpus that cannot be read costs the inspector its statistics, not the model its serving.
                    logger.error("Skipping a corpus that does not load", metadata: ["model.name": "\(name)", "error": "\(error)"])
                }
                let known = Set(entry.loaded.keys).union(entry.damaged.keys)
                let added = numbers.filter { !known.contains($0) }
                for number in added {
                    do {
                        let loaded = try store.load(model: name, version: number)
                        entry.loaded[number] = loaded
                        entry.infos.append(loaded.info)
                        outcome.loaded.append((name, number))
                    } catch {
                        let damage = error as? PeepholeError ?? .damagedModel(model: name, version: number, reason: "\(error)")
                        entry.damaged[number] = damage
                        entry.infos.append((try? store.versionInfo(model: name, version: number)) ?? .unreadable(model: name, version: number))
                        outcome.damaged.append((name, number))
                        logger.error("Skipping a version that does not load", metadata: [
                            "model.name": "\(name)", "model.version": "\(number)", "error": "\(damage.description)",
                        ])
                    }
                }
                entry.infos.sort { $0.version < $1.version }
                models[name] = entry
                if !added.isEmpty { log(entry) }
            }
            let fresh = Catalog(models: models, defaultModel: try resolveDefault(models, previous: previous?.defaultName))
            if models.isEmpty { logger.warning("The store holds no models", metadata: ["store.path": "\(store.path)"]) }
            catalog.withLockedValue { $0 = fresh }
            return outcome
        }
    }

    /// The configured default, else the previous one (a default does not move while serving),
    /// else the only model.
    private func resolveDefault(_ models: [String: ModelEntry], previous: String?) throws -> Result<String, PeepholeError> {
        if let configuredDefault {
            guard models[configuredDefault] != nil else {
                throw PeepholeError.noDefaultModel("the configured default model '\(configuredDefault)' is not in the store \(store.path)")
            }
            return .success(configuredDefault)
        }
        if let previous, models[previous] != nil { return .success(previous) }
        return Result { () throws(PeepholeError) in try ModelStore.onlyModel(among: Array(models.keys)) }
    }

    /// One line per model: its served versions, parameters and input.
    private func log(_ entry: ModelEntry) {
        let newest = entry.newestLoaded.map { entry.loaded[$0]!.info }
        var metadata: Logger.Metadata = [
            "model.name": "\(entry.name)",
            "model.versions": "\(entry.loaded.keys.sorted().map(String.init).joined(separator: ","))",
            "model.parameters": "\(newest?.parameterCount ?? 0)",
            "model.input_shape": "\(newest.map { Network.describe($0.inputShape) } ?? "-")",
        ]
        if !entry.damaged.isEmpty {
            metadata["model.damaged_versions"] = "\(entry.damaged.keys.sorted().map(String.init).joined(separator: ","))"
        }
        logger.info("Loaded model", metadata: metadata)
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
        guard let catalog = catalog.withLockedValue({ $0 }) else { throw ServerError.notReady }
        return catalog
    }

    /// The corpus stored with model `name` (nil: the default model).
    func corpus(_ name: String?) throws -> [CorpusText] {
        try snapshot().entry(name).corpus
    }

    /// The version a request names: `model` nil for the default model, `version` nil for its
    /// newest loaded version; `version` is the raw path segment.
    package func model(_ name: String?, version: String?) throws -> LoadedModel {
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
    /// The texts stored with the model, read again at every reload.
    var corpus: [CorpusText] = []

    /// The newest version that loaded.
    var newestLoaded: Int? { loaded.keys.max() }
}
