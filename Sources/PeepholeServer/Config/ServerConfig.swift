import Foundation
import Logging
import PeepholeCore
import PeepholeProtocols

/// The server's settings: `config/peephole.json`, overridden by `PEEPHOLE_*` environment
/// variables, overridden by command-line flags (see `resolve`).
public struct ServerConfig: Sendable, Equatable {
    /// The address to bind; loopback unless asked otherwise.
    public var host = "127.0.0.1"
    /// The TCP port to listen on.
    public var port = 8080
    /// The SQLite model store.
    public var store = "models/peephole.sqlite"
    /// A directory holding the store (KServe's `/mnt/models`); when set, it replaces `store`
    /// (see `storePath()`).
    public var modelDir: String?
    /// The model that `/predict` and `/layers` act on; nil for the only model in the store.
    public var defaultModel: String?
    /// The least severe log level printed.
    public var logLevel: Logger.Level = .info
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes = 8 * 1024 * 1024
    /// The most sequences in one request.
    public var maxBatch = RequestLimits().maxBatch
    /// The most timesteps in one sequence.
    public var maxSteps = RequestLimits().maxSteps
    /// The deepest array nesting in a request body.
    public var maxDepth = RequestLimits().maxDepth
    /// The most stateful sessions open at once; past it, opening one is refused with 429.
    public var maxSessions = 256
    /// Seconds a session may stay unused before it expires.
    public var sessionIdleSeconds = 600
    /// The most characters one `/generate` request may ask for.
    public var maxGenerate = RequestLimits().maxGenerate
    /// The most connections open at once; past it, a new connection is closed at once.
    public var maxConnections = 1024
    /// Seconds a request head may take to arrive whole (slow clients are closed).
    public var headerTimeoutSeconds = 10
    /// Seconds a request body may take to arrive whole, from the end of its head (408, then closed).
    public var bodyTimeoutSeconds = 30
    /// Seconds a keep-alive connection may stay idle before it is closed.
    public var idleTimeoutSeconds = 60
    /// The most inference requests one model may have in flight; past it, 503 with `Retry-After`.
    public var maxQueuePerModel = 256
    /// Milliseconds between looks at the store for new versions; 0: only `POST /admin/reload`.
    public var reloadIntervalMilliseconds = 2000
    /// The bearer token `/admin/*` requires; nil: admin routes are served to loopback only.
    public var adminToken: String?
    /// The most sequences one batched forward pass may hold; 1 turns batching off.
    public var batchMaxSize = 64
    /// How long a queued request may wait for others to share its pass, in microseconds.
    public var batchMaxDelayMicroseconds = 0
    /// The most forward passes running at once; 0: one per processor core.
    public var batchWorkers = 0
    /// Per-model overrides of `batchMaxSize` and `batchMaxDelayMicroseconds`, by model name.
    public var batchModels: [String: BatchOverride] = [:]
    /// Seconds the server goes on serving after SIGTERM with readiness failing, before it stops
    /// accepting connections and finishes the requests in flight.
    public var drainSeconds = 0

    /// The defaults, as committed in `config/peephole.json`.
    public init() {}

    /// The request limits the core enforces.
    public var limits: RequestLimits {
        var limits = RequestLimits()
        limits.maxBatch = maxBatch
        limits.maxSteps = maxSteps
        limits.maxDepth = maxDepth
        limits.maxGenerate = maxGenerate
        return limits
    }

    /// One setting: its name in the file, and in the environment as `PEEPHOLE_` + uppercased.
    public enum Key: String, CaseIterable, Sendable {
        case host, port, store
        case modelDir = "model_dir"
        case defaultModel = "default_model"
        case logLevel = "log_level"
        case maxBodyBytes = "max_body_bytes"
        case maxBatch = "max_batch"
        case maxSteps = "max_steps"
        case maxDepth = "max_depth"
        case maxSessions = "max_sessions"
        case sessionIdleSeconds = "session_idle_seconds"
        case maxGenerate = "max_generate"
        case maxConnections = "max_connections"
        case headerTimeoutSeconds = "header_timeout_seconds"
        case bodyTimeoutSeconds = "body_timeout_seconds"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case reloadIntervalMilliseconds = "reload_interval_ms"
        case maxQueuePerModel = "max_queue_per_model"
        case adminToken = "admin_token"
        case batchMaxSize = "batch_max_size"
        case batchMaxDelayMicroseconds = "batch_max_delay_us"
        case batchWorkers = "batch_workers"
        case batchModels = "batch_models"
        case drainSeconds = "drain_seconds"

        /// The environment variable that overrides this key.
        public var environmentName: String { "PEEPHOLE_" + rawValue.uppercased() }
    }

    /// The settings from `file` (nil: the defaults), then `environment`, then `overrides`
    /// (the flags, as text). Refuses unknown keys, wrong types and out-of-range values.
    public static func resolve(file: String?, environment: [String: String] = [:], overrides: [Key: String] = [:]) throws -> ServerConfig {
        var config = ServerConfig()
        var given: Set<Key> = []
        if let file { given = try config.apply(fileAt: file) }
        for key in Key.allCases {
            guard let text = environment[key.environmentName] else { continue }
            try config.set(key, text: text, source: key.environmentName)
            given.insert(key)
        }
        for (key, text) in overrides.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            try config.set(key, text: text, source: key.flagName)
            given.insert(key)
        }
        try config.checkBatchSizes(given: given)
        return config
    }

    /// Applies the settings of the file at `path`; returns the keys it gives.
    private mutating func apply(fileAt path: String) throws -> Set<Key> {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("\(path): cannot read the configuration file")
        }
        guard case let .object(fields)? = try? JSONValue.parse(data) else {
            throw ConfigError("\(path): expected a JSON object of settings")
        }
        for name in fields.keys.sorted() {
            guard let key = Key(rawValue: name) else {
                throw ConfigError("\(path): unknown key \"\(name)\" (known: \(Key.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let source = "\(path): \"\(name)\""
            let isText = [.host, .store, .modelDir, .defaultModel, .logLevel, .adminToken].contains(key)
            switch fields[name]! {
            case .null where key == .defaultModel:
                defaultModel = nil
            case .null where key == .adminToken:
                adminToken = nil
            case .null where key == .modelDir:
                modelDir = nil
            case let .object(models) where key == .batchModels:
                batchModels = try Self.batchModels(models, source: source)
            case let .string(text) where isText:
                try set(key, text: text, source: source)
            case let .number(number) where !isText && key != .batchModels && number.rounded() == number && abs(number) < 1e15:
                try set(key, text: String(Int(number)), source: source)
            case let other:
                throw ConfigError("\(source): expected \(Self.expectation(key)), got \(other.typeName)")
            }
        }
        return Set(fields.keys.compactMap(Key.init(rawValue:)))
    }

    /// Sets `key` from `text`, validating it; `source` names where the text came from.
    private mutating func set(_ key: Key, text: String, source: String) throws {
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw ConfigError("\(source): expected \(Self.expectation(key)), got \"\(text)\"")
            }
            return value
        }
        switch key {
        case .host:
            guard !text.isEmpty else { throw ConfigError("\(source): the host must not be empty") }
            host = text
        case .port: port = try integer(0...65535)
        case .store:
            guard !text.isEmpty else { throw ConfigError("\(source): the store path must not be empty") }
            store = text
        case .modelDir: modelDir = text.isEmpty ? nil : text
        case .defaultModel: defaultModel = text.isEmpty ? nil : text
        case .logLevel:
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigError("\(source): expected \(Self.expectation(key)), got \"\(text)\"")
            }
            logLevel = level
        case .maxBodyBytes: maxBodyBytes = try integer(1...Int(Int32.max))
        case .maxBatch: maxBatch = try integer(1...Int(Int32.max))
        case .maxSteps: maxSteps = try integer(1...Int(Int32.max))
        case .maxDepth: maxDepth = try integer(1...64)
        case .maxSessions: maxSessions = try integer(1...1_000_000)
        case .sessionIdleSeconds: sessionIdleSeconds = try integer(1...Int(Int32.max))
        case .maxGenerate: maxGenerate = try integer(1...Int(Int32.max))
        case .maxConnections: maxConnections = try integer(1...1_000_000)
        case .headerTimeoutSeconds: headerTimeoutSeconds = try integer(1...86_400)
        case .bodyTimeoutSeconds: bodyTimeoutSeconds = try integer(1...86_400)
        case .idleTimeoutSeconds: idleTimeoutSeconds = try integer(1...86_400)
        case .reloadIntervalMilliseconds: reloadIntervalMilliseconds = try integer(0...86_400_000)
        case .maxQueuePerModel: maxQueuePerModel = try integer(1...1_000_000)
        case .adminToken: adminToken = text.isEmpty ? nil : text
        case .batchMaxSize: batchMaxSize = try integer(1...Int(Int32.max))
        case .batchMaxDelayMicroseconds: batchMaxDelayMicroseconds = try integer(Self.batchDelayRange)
        case .batchWorkers: batchWorkers = try integer(0...256)
        case .drainSeconds: drainSeconds = try integer(0...3600)
        case .batchModels:
            guard case let .object(models)? = try? JSONValue.parse(Array(text.utf8)) else {
                throw ConfigError("\(source): expected \(Self.expectation(key)), got \"\(text)\"")
            }
            batchModels = try Self.batchModels(models, source: source)
        }
    }

    private static func expectation(_ key: Key) -> String {
        switch key {
        case .host, .store: "a non-empty string"
        case .defaultModel: "a model name or null"
        case .modelDir: "a directory path or null"
        case .drainSeconds: "an integer 0...3600 (seconds)"
        case .logLevel: "one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        case .port: "an integer port 0...65535"
        case .maxDepth: "an integer 1...64"
        case .maxSessions, .maxConnections, .maxQueuePerModel: "an integer 1...1000000"
        case .headerTimeoutSeconds, .bodyTimeoutSeconds, .idleTimeoutSeconds: "an integer 1...86400 (seconds)"
        case .reloadIntervalMilliseconds: "an integer 0...86400000 (milliseconds; 0 turns polling off)"
        case .adminToken: "a token string or null"
        case .batchMaxSize: "an integer 1...max_batch"
        case .batchMaxDelayMicroseconds: "an integer 0...1000000 (microseconds)"
        case .batchWorkers: "an integer 0...256 (0: one per processor core)"
        case .batchModels: #"a JSON object of models, e.g. {"chars": {"max_size": 32, "max_delay_us": 200}}"#
        case .maxBodyBytes, .maxBatch, .maxSteps, .sessionIdleSeconds, .maxGenerate: "a positive integer"
        }
    }
}

/// A configuration that cannot be used; its description names the file or variable and key.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, and where.
    public let description: String

    init(_ description: String) { self.description = description }
}
