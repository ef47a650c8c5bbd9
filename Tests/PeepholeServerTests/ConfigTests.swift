import Foundation
import Logging
import Testing
@testable import PeepholeServer

/// Settings: the file, overridden by `PEEPHOLE_*` variables, overridden by flags.
@Suite struct ConfigTests {
    let directory = Fixtures.temporaryDirectory()

    private func write(_ json: String) throws -> String {
        let path = directory.appendingPathComponent("peephole.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func committedFileHoldsTheDefaults() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let committed = Fixtures.package.appendingPathComponent("config/peephole.json").path
        #expect(try ServerConfig.resolve(file: committed) == ServerConfig())
        let defaults = ServerConfig()
        #expect(defaults.host == "127.0.0.1" && defaults.port == 8080 && defaults.maxBodyBytes == 8 * 1024 * 1024)
    }

    @Test func environmentOverridesTheFileAndFlagsOverrideTheEnvironment() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try write(#"{"port": 9000, "host": "0.0.0.0", "max_batch": 10, "default_model": "a", "log_level": "debug"}"#)
        let fromFile = try ServerConfig.resolve(file: file)
        #expect(fromFile.port == 9000 && fromFile.host == "0.0.0.0" && fromFile.maxBatch == 10 && fromFile.defaultModel == "a")
        #expect(fromFile.logLevel.rawValue == "debug" && fromFile.maxSteps == ServerConfig().maxSteps)

        let environment = ["PEEPHOLE_PORT": "9100", "PEEPHOLE_MAX_BATCH": "20", "PEEPHOLE_DEFAULT_MODEL": "b", "PEEPHOLE_MAX_DEPTH": "2"]
        let fromEnvironment = try ServerConfig.resolve(file: file, environment: environment)
        #expect(fromEnvironment.port == 9100 && fromEnvironment.host == "0.0.0.0" && fromEnvironment.maxBatch == 20)
        #expect(fromEnvironment.defaultModel == "b" && fromEnvironment.maxDepth == 2)

        let fromFlags = try ServerConfig.resolve(file: file, environment: environment, overrides: [.port: "9200", .defaultModel: "c"])
        #expect(fromFlags.port == 9200 && fromFlags.defaultModel == "c" && fromFlags.maxBatch == 20 && fromFlags.host == "0.0.0.0")
    }

    @Test func everyKeyHasAnEnvironmentVariable() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = Dictionary(uniqueKeysWithValues: ServerConfig.Key.allCases.map {
            ($0.environmentName, $0 == .logLevel ? "error" : $0 == .host || $0 == .store || $0 == .defaultModel ? "x" : $0 == .batchModels ? #"{"m": {"max_size": 3}}"# : "3")
        })
        let config = try ServerConfig.resolve(file: nil, environment: environment)
        #expect([config.host, config.store, config.defaultModel] == ["x", "x", "x"])
        #expect(config.logLevel.rawValue == "error")
        #expect([config.port, config.maxBodyBytes, config.maxBatch, config.maxSteps, config.maxDepth] == [Int](repeating: 3, count: 5))
        #expect([config.batchMaxSize, config.batchMaxDelayMicroseconds, config.batchWorkers] == [Int](repeating: 3, count: 3))
        #expect(config.batchModels == ["m": BatchOverride(maxSize: 3)])
        #expect(ServerConfig.Key.maxBodyBytes.environmentName == "PEEPHOLE_MAX_BODY_BYTES")
    }

    @Test func unknownKeysAreRefusedNamingTheKey() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try write(#"{"port": 9000, "max_bach": 10}"#)
        #expect { try ServerConfig.resolve(file: file) } throws: { error in
            (error as? ConfigError)?.description.contains("unknown key \"max_bach\"") == true
        }
    }

    @Test func wrongTypesAndValuesAreRefusedNamingTheSource() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        for json in [#"{"port": "80"}"#, #"{"port": 70000}"#, #"{"max_batch": 0}"#, #"{"log_level": "loud"}"#, #"{"host": null}"#, #"{"max_steps": 1.5}"#, #"[1]"#] {
            let file = try write(json)
            #expect(throws: ConfigError.self, "\(json)") { try ServerConfig.resolve(file: file) }
        }
        #expect { try ServerConfig.resolve(file: nil, environment: ["PEEPHOLE_PORT": "eighty"]) } throws: { error in
            (error as? ConfigError)?.description.contains("PEEPHOLE_PORT") == true
        }
        #expect { try ServerConfig.resolve(file: nil, overrides: [.port: "-1"]) } throws: { error in
            (error as? ConfigError)?.description.contains("--port") == true
        }
        #expect(throws: ConfigError.self) { try ServerConfig.resolve(file: directory.appendingPathComponent("missing.json").path) }
    }

    @Test func everyKeyIsAFlagWithDashes() throws {
        let overrides = try ServerConfig.overrides(fromArguments: ["--port", "9300", "--batch-max-delay-us=50", "--store", "s.sqlite"])
        #expect(overrides == [.port: "9300", .batchMaxDelayMicroseconds: "50", .store: "s.sqlite"])
        #expect(Set(ServerConfig.Key.allCases.map(\.flagName)).count == ServerConfig.Key.allCases.count)
        #expect { try ServerConfig.overrides(fromArguments: ["--prot", "1"]) } throws: { error in
            (error as? ConfigError)?.description.contains("unknown option '--prot'") == true
        }
        #expect(throws: ConfigError.self) { try ServerConfig.overrides(fromArguments: ["--port"]) }
    }
}
