import PeepholeCore
import PeepholeProtocols

/// How the server runs the forward passes of every protocol's requests: within the model's
/// admission bound (queued requests count as in flight), timed into the inference metrics, and
/// through the batcher when the pass may be shared.
struct ServerRunner: InferenceRunner {
    /// The bound on each model's requests in flight.
    let admission: ModelAdmission
    /// Where inference latency and batch sizes go.
    let metrics: ServerMetrics
    /// Where forward passes are shared between requests.
    let batcher: InferenceBatcher

    func outputs(_ model: LoadedModel, _ pass: ForwardPass, inputs: [Tensor], endpoint: String) async throws -> [Tensor] {
        try await admission.run(model) {
            try await metrics.measureInference(model, endpoint: endpoint, batch: inputs[0].shape[0]) {
                try await batcher.run(model, pass, inputs: inputs)
            }
        }
    }

    func alone<T: Sendable>(_ model: LoadedModel, endpoint: String, batch: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await admission.run(model) {
            try await metrics.measureInference(model, endpoint: endpoint, batch: batch) { try work() }
        }
    }
}
