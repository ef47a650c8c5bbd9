import Foundation
import PeepholeCore
import PeepholeProtocols

/// One model's entry in `batch_models`: the batching settings it overrides, nil where the
/// global `batch_max_size` and `batch_max_delay_us` apply.
public struct BatchOverride: Sendable, Equatable {
    /// `max_size`: the most sequences in one of this model's passes.
    public var maxSize: Int?
    /// `max_delay_us`: how long this model's queued requests may wait for company.
    public var maxDelayMicroseconds: Int?

    /// An override of what is given.
    public init(maxSize: Int? = nil, maxDelayMicroseconds: Int? = nil) {
        self.maxSize = maxSize
        self.maxDelayMicroseconds = maxDelayMicroseconds
    }
}

extension ServerConfig {
    /// The accepted `batch_max_delay_us` (and `max_delay_us`): up to one second.
    static let batchDelayRange = 0...1_000_000

    /// The forward passes that may run at once: `batchWorkers`, or one per core when it is 0.
    /// Long passes leave the event loops (`InferenceBatcher.defaultOffloadFLOPs`), which go on
    /// reading the requests that then queue for the next pass; short ones cost less than HTTP.
    public var resolvedBatchWorkers: Int {
        batchWorkers > 0 ? batchWorkers : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The batching limits of every model without an override.
    package var batchLimits: InferenceBatcher.Limits {
        InferenceBatcher.Limits(maxSize: batchMaxSize, maxDelayMicroseconds: batchMaxDelayMicroseconds)
    }

    /// The batching limits of the models in `batch_models`, the global settings filling the gaps.
    var modelBatchLimits: [String: InferenceBatcher.Limits] {
        batchModels.mapValues {
            InferenceBatcher.Limits(maxSize: $0.maxSize ?? batchMaxSize, maxDelayMicroseconds: $0.maxDelayMicroseconds ?? batchMaxDelayMicroseconds)
        }
    }

    /// Parses `batch_models`: `{"<model>": {"max_size": 32, "max_delay_us": 200}}`, either key
    /// optional; refuses other keys, types and ranges. `max_size` is checked against `max_batch`
    /// once every source is read (see `checkBatchSizes`).
    static func batchModels(_ models: [String: JSONValue], source: String) throws -> [String: BatchOverride] {
        var overrides: [String: BatchOverride] = [:]
        for name in models.keys.sorted() {
            let at = "\(source): model \"\(name)\""
            guard !name.isEmpty else { throw ConfigError("\(source): a model name must not be empty") }
            guard case let .object(fields) = models[name]! else {
                throw ConfigError("\(at): expected an object with max_size and/or max_delay_us, got \(models[name]!.typeName)")
            }
            var override = BatchOverride()
            for field in fields.keys.sorted() {
                let range = field == "max_size" ? 1...Int(Int32.max) : batchDelayRange
                guard field == "max_size" || field == "max_delay_us" else {
                    throw ConfigError("\(at): unknown key \"\(field)\" (known: max_size, max_delay_us)")
                }
                guard case let .number(number) = fields[field]!, let value = Int(exactly: number), range.contains(value) else {
                    let expected = field == "max_size" ? "an integer 1...max_batch" : "an integer 0...1000000 (microseconds)"
                    let got = if case let .number(number) = fields[field]! { "\(number)" } else { fields[field]!.typeName }
                    throw ConfigError("\(at): \"\(field)\": expected \(expected), got \(got)")
                }
                if field == "max_size" { override.maxSize = value } else { override.maxDelayMicroseconds = value }
            }
            overrides[name] = override
        }
        return overrides
    }

    /// Keeps passes within what one request may hold: a `batch_max_size` or a model's `max_size`
    /// above `max_batch` is refused, except the default (not in `given`), which follows
    /// `max_batch` down.
    mutating func checkBatchSizes(given: Set<Key>) throws {
        if batchMaxSize > maxBatch {
            guard !given.contains(.batchMaxSize) else {
                throw ConfigError("batch_max_size \(batchMaxSize) exceeds max_batch \(maxBatch): lower batch_max_size or raise max_batch")
            }
            batchMaxSize = maxBatch
        }
        for (name, override) in batchModels.sorted(by: { $0.key < $1.key }) {
            if let size = override.maxSize, size > maxBatch {
                throw ConfigError("batch_models: model \"\(name)\": max_size \(size) exceeds max_batch \(maxBatch)")
            }
        }
    }
}
