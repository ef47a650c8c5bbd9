import Foundation
import PeepholeCore
import PeepholeProtocols
import Testing
@testable import PeepholeServer

/// A batching delay (µs) that no test waits out: every pass in the batching tests runs because
/// its group fills, however slowly a loaded machine lets the requests arrive. (Tests set it
/// directly; `resolve` would refuse it as configuration.)
let patientDelay = 600_000_000

extension FixtureModel {
    /// Sequences of any length of 6 features → LSTMs → Dense; no vocabulary. Requests of
    /// different lengths are all valid, so they test grouping by shape.
    static let chain = FixtureModel(file: "functional_chain.k3.keras", name: "chain", vocabulary: nil)
}

/// `batch` sequences of `steps` rows of 6 features for the chain model as JSON text, different
/// for every `seed`, so that rows handed to the wrong request show.
func chainInputs(batch: Int, steps: Int, seed: Int) -> String {
    var counter = seed * 7919
    func row() -> String {
        "[" + (0..<6).map { _ in
            counter += 1
            return String(format: "%.3f", sin(Double(counter) * 0.7))
        }.joined(separator: ",") + "]"
    }
    let sequences = (0..<batch).map { _ in "[" + (0..<steps).map { _ in row() }.joined(separator: ",") + "]" }
    return #"{"inputs": ["# + sequences.joined(separator: ",") + "]}"
}

/// The model input of the `/predict` body `body` for `model`, checked.
func predictInput(_ body: String, _ model: LoadedModel) throws -> Tensor {
    let limits = ServerConfig.test.limits
    return try PeepholeJSON.decode(PredictRequest.self, from: Array(body.utf8), limits: limits).input.tensor(for: model, limits: limits)
}

/// What the Peephole JSON API answers for `body` on `endpoint`, computed alone (as `peephole
/// predict` computes it).
func answerAlone(_ body: String, _ model: LoadedModel, layer: String? = nil) async throws -> String {
    let api = PeepholeAPI(limits: ServerConfig.test.limits, runner: DirectRunner())
    let bytes = Array(body.utf8)
    let answer = if let layer {
        try PeepholeJSON.encode(try await api.layerOutput(try PeepholeJSON.decode(LayerOutputRequest.self, from: bytes, limits: api.limits), layer: layer, model: model))
    } else {
        try PeepholeJSON.encode(try await api.predict(try PeepholeJSON.decode(PredictRequest.self, from: bytes, limits: api.limits), model: model))
    }
    return String(decoding: answer, as: UTF8.self)
}

/// Watches a batcher's passes, recording each pass's input shape in order, and computes them
/// for real unless told to fail.
final class PassLog: @unchecked Sendable {
    /// What a failing pass throws.
    struct Failure: Error, Equatable {}

    private let lock = NSLock()
    private var shapes: [[Int]] = []
    private let fails: Bool

    init(fails: Bool = false) { self.fails = fails }

    /// The input shapes of the passes so far.
    var passes: [[Int]] { lock.withLock { shapes } }

    /// An `InferenceBatcher.Compute`.
    func compute(_ model: LoadedModel, _ pass: ForwardPass, _ inputs: [Tensor]) throws -> [Tensor] {
        lock.withLock { shapes.append(inputs[0].shape) }
        if fails { throw Failure() }
        return InferenceBatcher.forward(model, pass, inputs)
    }
}

extension InferenceBatcher {
    /// The first output of `pass` for a one-input model's `input`.
    func run(_ model: LoadedModel, _ pass: ForwardPass, input: Tensor) async throws -> Tensor {
        try await run(model, pass, inputs: [input])[0]
    }
}

/// Runs `inputs` through `batcher` concurrently, each arriving once the one before it is queued
/// or running, so the arrival order is the list's. The results come back in that order.
func runInOrder(_ batcher: InferenceBatcher, _ model: LoadedModel, _ inputs: [Tensor],
                pass: ForwardPass = .model) async throws -> [Result<Tensor, any Error>] {
    try await withThrowingTaskGroup(of: (Int, Result<Tensor, any Error>).self) { group in
        let before = batcher.statistics.requests
        for (index, input) in inputs.enumerated() {
            group.addTask {
                do { return (index, .success(try await batcher.run(model, pass, input: input))) } catch { return (index, .failure(error)) }
            }
            while batcher.statistics.requests <= before + index { try await Task.sleep(for: .milliseconds(1)) }
        }
        var results = [Result<Tensor, any Error>?](repeating: nil, count: inputs.count)
        for try await (index, result) in group { results[index] = result }
        return results.map { $0! }
    }
}

/// The largest difference between the numbers of two JSON texts of the same structure (nil when
/// the structures differ): says whether an inexact answer is a rounding or a wrong row.
func largestDifference(_ a: String, _ b: String) -> Double? {
    func numbers(_ text: String) -> [Double]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))).map { PeepholeServerTests.numbers(in: $0) }
    }
    guard let x = numbers(a), let y = numbers(b), x.count == y.count else { return nil }
    return zip(x, y).map { abs($0 - $1) }.max() ?? 0
}

/// Every number of a JSON value read by Foundation, in order (an object's by sorted key).
func numbers(in value: Any) -> [Double] {
    var found: [Double] = []
    func walk(_ value: Any) {
        switch value {
        case let number as NSNumber: found.append(number.doubleValue)
        case let array as [Any]: array.forEach(walk)
        case let object as [String: Any]: object.keys.sorted().forEach { walk(object[$0]!) }
        default: break
        }
    }
    walk(value)
    return found
}

/// The largest difference between two tensors of the same shape (nil when the shapes differ).
func largestDifference(_ a: Tensor, _ b: Tensor) -> Float? {
    guard a.shape == b.shape else { return nil }
    return zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
}

/// Each output equals what its input gives run alone.
func expectEachAsAlone(_ model: LoadedModel, _ inputs: [Tensor], _ outputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation) {
    for (input, output) in zip(inputs, outputs) {
        let alone = model.network.run(input).output
        #expect(output == alone, "largest difference \(String(describing: largestDifference(output, alone)))", sourceLocation: sourceLocation)
    }
}
