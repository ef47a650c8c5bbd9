import PeepholeCore

/// Runs the forward passes of checked requests, for every protocol's routes: directly in the
/// CLI; in the server within the model's admission bound, timed into the inference metrics,
/// and through the batcher.
public protocol InferenceRunner: Sendable {
    /// The outputs of `pass` over `inputs` (validated, the model's in its order), possibly
    /// computed in a pass shared with other requests; `endpoint` labels the request in metrics.
    func outputs(_ model: LoadedModel, _ pass: ForwardPass, inputs: [Tensor], endpoint: String) async throws -> [Tensor]

    /// Runs `work` on `model` alone (introspection, a session step, generation) for a request of
    /// `batch` sequences.
    func alone<T: Sendable>(_ model: LoadedModel, endpoint: String, batch: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T
}

/// Runs every pass at once, on the caller's thread: the CLI's runner.
public struct DirectRunner: InferenceRunner {
    /// A runner.
    public init() {}

    public func outputs(_ model: LoadedModel, _ pass: ForwardPass, inputs: [Tensor], endpoint: String) async throws -> [Tensor] {
        pass.outputs(of: model.network, inputs)
    }

    public func alone<T: Sendable>(_ model: LoadedModel, endpoint: String, batch: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try work()
    }
}
