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

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp(
        "Any setting as a flag: --port 9000, --store path, --max-batch=64 … (the keys of \(ServeCommand.defaultConfig), with dashes).",
        valueName: "--setting value"))
    var settings: [String] = []

    func run() async throws {
        // First, before any other concurrent work: handlers then run where their requests were read.
        let onEventLoops = runConcurrencyOnEventLoops()
        LoggingSystem.bootstrap { label in ServerLogHandler(label: label) }
        let keepsFreedMemory = keepFreedMemoryForRequests()
        do {
            let resolved = try resolveConfig()
            var logger = Logger(label: "peephole")
            logger.logLevel = resolved.logLevel
            // The server only reads: a committed store stays unchanged while it is served.
            let storePath = try resolved.storePath()
            let modelStore = try ModelStore(path: storePath, access: .readOnly)
            logger.info("Starting", metadata: [
                "store.path": "\(storePath)", "http.address": "\(resolved.host):\(resolved.port)",
                "batch.workers": "\(resolved.resolvedBatchWorkers)",
                "batch.max_size": "\(resolved.batchMaxSize)", "concurrency.on_event_loops": "\(onEventLoops)", "malloc.keeps_freed": "\(keepsFreedMemory)", "batch.max_delay_us": "\(resolved.batchMaxDelayMicroseconds)",
            ])
            try await runServer(config: resolved, store: modelStore, logger: logger)
        } catch let error as ConfigError {
            try fail(error.description)
        } catch let error as PeepholeError {
            try fail(error.description)
        }
    }

    /// File, then environment, then flags.
    private func resolveConfig() throws -> ServerConfig {
        let file = config ?? (FileManager.default.fileExists(atPath: Self.defaultConfig) ? Self.defaultConfig : nil)
        return try ServerConfig.resolve(file: file, environment: ProcessInfo.processInfo.environment,
                                        overrides: try ServerConfig.overrides(fromArguments: settings))
    }

    private func fail(_ message: String) throws -> Never {
        FileHandle.standardError.write(Data("peephole: \(message)\n".utf8))
        throw ExitCode(1)
    }
}
