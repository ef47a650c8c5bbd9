import PeepholeCore

/// Runs the forward passes of checked requests, for every protocol's routes: directly in the
/// CLI; in the server within the model's admission bound, timed into the inference metrics,
/// and through the batcher.
public protocol InferenceRunner: Sendable {
    /// The output of `pass` over `input` (validated), possibly computed in a pass shared with
    /// other requests; `endpoint` labels the request in metrics.
    func output(_ model: LoadedModel, _ pass: ForwardPass, input: Tensor, endpoint: String) async throws -> Tensor

    /// Runs `work` on `model` alone (introspection, a session step, generation) for a request of
    /// `batch` sequences.
    func alone<T: Sendable>(_ model: LoadedModel, endpoint: String, batch: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T
}

/// Runs every pass at once, on the caller's thread: the CLI's runner.
public struct DirectRunner: InferenceRunner {
    /// A runner.
    public init() {}

    public func output(_ model: LoadedModel, _ pass: ForwardPass, input: Tensor, endpoint: String) async throws -> Tensor {
        pass.output(of: model.network, input)
    }

    public func alone<T: Sendable>(_ model: LoadedModel, endpoint: String, batch: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try work()
    }
}
