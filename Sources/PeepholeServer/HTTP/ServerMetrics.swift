import NIOConcurrencyHelpers
import Hummingbird
import PeepholeCore
import Prometheus

/// The server's Prometheus metrics, in a registry of its own (no global state, so tests
/// running several servers in parallel do not share counters). Labels carry route templates
/// (`/models/{model}/predict`) and model names, never raw paths.
public final class ServerMetrics: Sendable {
    /// The registry `/metrics` renders.
    let registry = PrometheusCollectorRegistry()
    /// Metric handles by name and label values: the registry checks names and help
    /// texts on every `make…` call, about 4% of the server's CPU when done for every request.
    private let handles = NIOLockedValueBox<[String: any Sendable]>([:])

    private static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]
    private static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

    /// An empty set of metrics.
    public init() {}

    /// Counts one answered request and records its latency.
    package func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        handle("http_requests", labels) {
            registry.makeCounter(descriptor: Self.name("http_requests", unit: "total", help: "HTTP requests answered, by route template, method and status."), labels: labels)
        }.increment()
        handle("http_request_duration", labels) {
            registry.makeDurationHistogram(descriptor: Self.name("http_request_duration", unit: "seconds", help: "HTTP request latency, by route template, method and status."),
                                           labels: labels, buckets: Self.latencyBuckets)
        }.record(duration)
    }

    /// Runs one inference request (queueing and forward pass), recording its latency and batch
    /// size under the model's name.
    package func measureInference<T>(_ model: LoadedModel, endpoint: String, batch: Int, _ body: () async throws -> T) async rethrows -> T {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await body()
        let labels = [("model", model.info.model), ("endpoint", endpoint)]
        handle("inference_duration", labels) {
            registry.makeDurationHistogram(descriptor: Self.name("inference_duration", unit: "seconds", help: "Inference request latency (queueing and forward pass), by model and endpoint."),
                                           labels: labels, buckets: Self.latencyBuckets)
        }.record(clock.now - start)
        handle("inference_batch_size", [("model", model.info.model)]) {
            registry.makeValueHistogram(descriptor: Self.name("inference_batch_size", unit: "", help: "Sequences per inference request, by model."),
                                        labels: [("model", model.info.model)], buckets: Self.batchBuckets)
        }.record(Double(batch))
        return result
    }

    /// Records one forward pass of the batcher: its sequences, and the requests that shared it.
    func recordForwardPass(model: String, sequences: Int, requests: Int) {
        handle("forward_batch_size", [("model", model)]) {
            registry.makeValueHistogram(descriptor: Self.name("forward_batch_size", unit: "", help: "Sequences per batched forward pass (one or more requests), by model."),
                                        labels: [("model", model)], buckets: Self.batchBuckets)
        }.record(Double(sequences))
        guard requests > 1 else { return }
        handle("forward_shared_requests", [("model", model)]) {
            registry.makeCounter(descriptor: Self.name("forward_shared_requests", unit: "total", help: "Requests that shared a forward pass with other requests, by model."),
                                 labels: [("model", model)])
        }.increment(by: Int64(requests))
    }

    /// The handle of metric `name` with `labels`, made by `make` the first time.
    private func handle<Metric: Sendable>(_ name: String, _ labels: [(String, String)], _ make: () -> Metric) -> Metric {
        let key = ([name] + labels.map(\.1)).joined(separator: "\u{1}")
        return handles.withLockedValue { handles in
            if let metric = handles[key] as? Metric { return metric }
            let metric = make()
            handles[key] = metric
            return metric
        }
    }

    /// The Prometheus text exposition of every metric.
    func render() -> [UInt8] { registry.emitToBuffer() }

    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "peephole", metricName: metric, unitName: unit, helpText: help)
    }
}

/// Records every request's count and latency under its route template.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Where to record.
    let metrics: ServerMetrics

    /// Times `next`; requests that match no route are labelled `unmatched`.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        var status = 500
        defer {
            metrics.recordRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, duration: clock.now - start)
        }
        let response = try await next(request, context)
        status = response.status.code
        return response
    }
}
