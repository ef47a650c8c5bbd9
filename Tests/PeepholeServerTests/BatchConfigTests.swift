import Foundation
import Testing
@testable import PeepholeServer

/// The batching settings: `batch_max_size`, `batch_max_delay_us`, `batch_workers` and the
/// per-model `batch_models`, from the file, the environment and the flags.
@Suite struct BatchConfigTests {
    let directory = Fixtures.temporaryDirectory()

    private func write(_ json: String) throws -> String {
        let path = directory.appendingPathComponent("peephole.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func refusal(file json: String? = nil, environment: [String: String] = [:], overrides: [ServerConfig.Key: String] = [:]) throws -> String? {
        do {
            _ = try ServerConfig.resolve(file: try json.map(write), environment: environment, overrides: overrides)
            return nil
        } catch let error as ConfigError {
            return error.description
        }
    }

    @Test func batchingDefaultsToSixtyFourSequencesNoDelayAndOneWorkerPerCore() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = ServerConfig()
        #expect(config.batchMaxSize == 64 && config.batchMaxDelayMicroseconds == 0 && config.batchWorkers == 0 && config.batchModels.isEmpty)
        #expect(config.resolvedBatchWorkers == ProcessInfo.processInfo.activeProcessorCount)
        #expect(config.batchLimits == .init(maxSize: 64, maxDelayMicroseconds: 0))
        // An unset batch_max_size follows a smaller max_batch down; a set one is refused (below).
        let small = try ServerConfig.resolve(file: try write(#"{"max_batch": 10}"#))
        #expect(small.batchMaxSize == 10)
    }

    @Test func batchKeysComeFromTheFileThenTheEnvironmentThenTheFlags() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try write(#"""
            {"batch_max_size": 32, "batch_max_delay_us": 500, "batch_workers": 3,
             "batch_models": {"chars": {"max_size": 16, "max_delay_us": 200}, "quick": {"max_delay_us": 0}, "big": {}}}
            """#)
        let fromFile = try ServerConfig.resolve(file: file)
        #expect(fromFile.batchMaxSize == 32 && fromFile.batchMaxDelayMicroseconds == 500 && fromFile.batchWorkers == 3)
        #expect(fromFile.resolvedBatchWorkers == 3)
        #expect(fromFile.batchModels == ["chars": BatchOverride(maxSize: 16, maxDelayMicroseconds: 200),
                                         "quick": BatchOverride(maxDelayMicroseconds: 0), "big": BatchOverride()])
        #expect(fromFile.modelBatchLimits == ["chars": .init(maxSize: 16, maxDelayMicroseconds: 200),
                                              "quick": .init(maxSize: 32, maxDelayMicroseconds: 0), "big": .init(maxSize: 32, maxDelayMicroseconds: 500)])

        let environment = ["PEEPHOLE_BATCH_MAX_SIZE": "8", "PEEPHOLE_BATCH_MODELS": #"{"chars": {"max_size": 4}}"#]
        let fromEnvironment = try ServerConfig.resolve(file: file, environment: environment)
        #expect(fromEnvironment.batchMaxSize == 8 && fromEnvironment.batchMaxDelayMicroseconds == 500)
        #expect(fromEnvironment.batchModels == ["chars": BatchOverride(maxSize: 4)], "the variable replaces the file's whole object")

        let fromFlags = try ServerConfig.resolve(file: file, environment: environment, overrides: [
            .batchMaxSize: "1", .batchMaxDelayMicroseconds: "0", .batchWorkers: "0", .batchModels: "{}",
        ])
        #expect(fromFlags.batchMaxSize == 1 && fromFlags.batchMaxDelayMicroseconds == 0 && fromFlags.batchModels.isEmpty)
        #expect(fromFlags.resolvedBatchWorkers == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func outOfRangeBatchSettingsAreRefusedNamingTheSourceAndKey() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(json: String, says: String)] = [
            (#"{"batch_max_size": 0}"#, #""batch_max_size": expected an integer 1...max_batch"#),
            (#"{"batch_max_size": 2000}"#, "batch_max_size 2000 exceeds max_batch 1024"),
            (#"{"batch_max_size": 20, "max_batch": 10}"#, "batch_max_size 20 exceeds max_batch 10"),
            (#"{"batch_max_delay_us": 1000001}"#, #""batch_max_delay_us": expected an integer 0...1000000"#),
            (#"{"batch_max_delay_us": -1}"#, #""batch_max_delay_us""#),
            (#"{"batch_workers": 257}"#, #""batch_workers": expected an integer 0...256"#),
            (#"{"batch_workers": "2"}"#, #""batch_workers": expected an integer 0...256 (0: one per processor core), got a string"#),
            (#"{"batch_models": 5}"#, #""batch_models": expected a JSON object of models"#),
            (#"{"batch_models": "{}"}"#, "got a string"),
            (#"{"batch_models": {"chars": 3}}"#, #"model "chars": expected an object with max_size and/or max_delay_us, got a number"#),
            (#"{"batch_models": {"chars": {"max_batch": 3}}}"#, #"model "chars": unknown key "max_batch" (known: max_size, max_delay_us)"#),
            (#"{"batch_models": {"chars": {"max_size": 0}}}"#, #"model "chars": "max_size": expected an integer 1...max_batch, got 0"#),
            (#"{"batch_models": {"chars": {"max_size": 1.5}}}"#, #""max_size": expected an integer"#),
            (#"{"batch_models": {"chars": {"max_delay_us": 2000000}}}"#, #""max_delay_us": expected an integer 0...1000000 (microseconds)"#),
            (#"{"batch_models": {"chars": {"max_size": 2000}}}"#, #"batch_models: model "chars": max_size 2000 exceeds max_batch 1024"#),
            (#"{"batch_models": {"": {}}}"#, "a model name must not be empty"),
        ]
        for (json, says) in cases {
            let message = try #require(try refusal(file: json), "\(json) must be refused")
            #expect(message.contains(says), "\(json): \(message)")
        }
        let variable = try #require(try refusal(environment: ["PEEPHOLE_BATCH_MODELS": "chars=32"]))
        #expect(variable.contains(#"PEEPHOLE_BATCH_MODELS: expected a JSON object of models"#), "\(variable)")
        let nested = try #require(try refusal(environment: ["PEEPHOLE_BATCH_MODELS": #"{"chars": {"max_size": -1}}"#]))
        #expect(nested.contains(#"PEEPHOLE_BATCH_MODELS: model "chars": "max_size""#), "\(nested)")
        let flag = try #require(try refusal(overrides: [.batchWorkers: "many"]))
        #expect(flag.contains("--batch-workers"), "\(flag)")
        let delayFlag = try #require(try refusal(overrides: [.batchMaxDelayMicroseconds: "-5"]))
        #expect(delayFlag.contains("--batch-max-delay-us"), "\(delayFlag)")
    }
}
