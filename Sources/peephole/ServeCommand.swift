import ArgumentParser
import Foundation
import Logging
import PeepholeCore
import PeepholeServer

/// `peephole serve`: the HTTP server over a store, until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the models of a store over HTTP.",
        discussion: "Settings come from the configuration file, then PEEPHOLE_* environment variables (e.g. PEEPHOLE_PORT), then these flags.")

    /// The default configuration file; unlike an explicit `--config`, it may be absent.
    static let defaultConfig = "config/peephole.json"

    @Option(help: "The configuration file (JSON). Default: \(ServeCommand.defaultConfig) if it exists.")
    var config: String?

    @Option(help: "The SQLite model store.")
    var store: String?

    @Option(help: "A directory holding the store (peephole.sqlite, or its only *.sqlite file), e.g. KServe's /mnt/models; replaces --store.")
    var modelDir: String?

    @Option(help: "The address to bind.")
    var host: String?

    @Option(help: "The TCP port.")
    var port: Int?

    @Option(help: "The model /predict and /layers act on (default: the only model in the store).")
    var defaultModel: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(help: "The most sequences one batched forward pass may hold (1: no batching).")
    var batchMaxSize: Int?

    @Option(help: "How long a queued request may wait for others to share its forward pass, in microseconds.")
    var batchMaxDelayUs: Int?

    @Option(help: "The most forward passes running at once (0: one per processor core).")
    var batchWorkers: Int?

    @Option(help: #"Per-model batching, as JSON: {"chars": {"max_size": 32, "max_delay_us": 200}}."#)
    var batchModels: String?

    func run() async throws {
        // First, before any other concurrent work: handlers then run where their requests were read.
        let onEventLoops = runConcurrencyOnEventLoops()
        do {
            let settings = try resolveConfig()
            var logger = Logger(label: "peephole")
            logger.logLevel = settings.logLevel
            // The server only reads: a committed store stays unchanged while it is served.
            let storePath = try settings.storePath()
            let modelStore = try ModelStore(path: storePath, access: .readOnly)
            logger.info("Starting", metadata: [
                "store.path": "\(storePath)", "http.address": "\(settings.host):\(settings.port)",
                "batch.workers": "\(settings.resolvedBatchWorkers)",
                "batch.max_size": "\(settings.batchMaxSize)", "concurrency.on_event_loops": "\(onEventLoops)", "batch.max_delay_us": "\(settings.batchMaxDelayMicroseconds)",
            ])
            try await runServer(config: settings, store: modelStore, logger: logger)
        } catch let error as ConfigError {
            try fail(error.description)
        } catch let error as PeepholeError {
            try fail(error.description)
        }
    }

    /// File, then environment, then flags.
    private func resolveConfig() throws -> ServerConfig {
        let file = config ?? (FileManager.default.fileExists(atPath: Self.defaultConfig) ? Self.defaultConfig : nil)
        var overrides: [ServerConfig.Key: String] = [:]
        overrides[.store] = store
        overrides[.modelDir] = modelDir
        overrides[.host] = host
        overrides[.port] = port.map(String.init)
        overrides[.defaultModel] = defaultModel
        overrides[.logLevel] = logLevel
        overrides[.batchMaxSize] = batchMaxSize.map(String.init)
        overrides[.batchMaxDelayMicroseconds] = batchMaxDelayUs.map(String.init)
        overrides[.batchWorkers] = batchWorkers.map(String.init)
        overrides[.batchModels] = batchModels
        return try ServerConfig.resolve(file: file, environment: ProcessInfo.processInfo.environment, overrides: overrides)
    }

    private func fail(_ message: String) throws -> Never {
        FileHandle.standardError.write(Data("peephole: \(message)\n".utf8))
        throw ExitCode(1)
    }
}
