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
    /// Metric handles by their label values, made on first use: the registry checks names and
    /// help texts on every `make…` call, so each request finds its handles here instead. Typed
    /// keys and values, so a lookup hashes the label values and builds no string or label array.
    private let handles = NIOLockedValueBox(Handles())

    private struct Handles {
        var requests: [RequestKey: (count: Counter, duration: DurationHistogram)] = [:]
        var inference: [InferenceKey: DurationHistogram] = [:]
        var batchSizes: [String: ValueHistogram] = [:]
        var passes: [String: ValueHistogram] = [:]
        /// Made at a model's first shared pass, so `/metrics` lists it from then on.
        var shared: [String: Counter] = [:]
    }

    private struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private struct InferenceKey: Hashable {
        var model: String
        var endpoint: String
    }

    private static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]
    private static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

    /// An empty set of metrics.
    public init() {}

    /// Counts one answered request and records its latency.
    package func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let metrics = handles.withLockedValue { handles in
            handles.requests.value(for: RequestKey(route: route, method: method, status: status)) {
                let labels = [("route", route), ("method", method), ("status", String(status))]
                return (registry.makeCounter(descriptor: Self.name("http_requests", unit: "total", help: "HTTP requests answered, by route template, method and status."), labels: labels),
                        registry.makeDurationHistogram(descriptor: Self.name("http_request_duration", unit: "seconds", help: "HTTP request latency, by route template, method and status."),
                                                       labels: labels, buckets: Self.latencyBuckets))
            }
        }
        metrics.count.increment()
        metrics.duration.record(duration)
    }

    /// Runs one inference request (queueing and forward pass), recording its latency and batch
    /// size under the model's name.
    package func measureInference<T>(_ model: LoadedModel, endpoint: String, batch: Int, _ body: () async throws -> T) async rethrows -> T {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await body()
        let elapsed = clock.now - start
        let name = model.info.model
        let (duration, batchSize) = handles.withLockedValue { handles in
            (handles.inference.value(for: InferenceKey(model: name, endpoint: endpoint)) {
                registry.makeDurationHistogram(descriptor: Self.name("inference_duration", unit: "seconds", help: "Inference request latency (queueing and forward pass), by model and endpoint."),
                                               labels: [("model", name), ("endpoint", endpoint)], buckets: Self.latencyBuckets)
            },
             handles.batchSizes.value(for: name) {
                registry.makeValueHistogram(descriptor: Self.name("inference_batch_size", unit: "", help: "Sequences per inference request, by model."),
                                            labels: [("model", name)], buckets: Self.batchBuckets)
            })
        }
        duration.record(elapsed)
        batchSize.record(Double(batch))
        return result
    }

    /// Records one forward pass of the batcher: its sequences, and the requests that shared it.
    func recordForwardPass(model: String, sequences: Int, requests: Int) {
        let (histogram, shared) = handles.withLockedValue { handles in
            (handles.passes.value(for: model) {
                registry.makeValueHistogram(descriptor: Self.name("forward_batch_size", unit: "", help: "Sequences per batched forward pass (one or more requests), by model."),
                                            labels: [("model", model)], buckets: Self.batchBuckets)
            },
             requests > 1 ? handles.shared.value(for: model) {
                registry.makeCounter(descriptor: Self.name("forward_shared_requests", unit: "total", help: "Requests that shared a forward pass with other requests, by model."),
                                     labels: [("model", model)])
            } : nil)
        }
        histogram.record(Double(sequences))
        shared?.increment(by: Int64(requests))
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

private extension Dictionary {
    /// The value for `key`, made by `make` and kept the first time it is asked for.
    mutating func value(for key: Key, orMake make: () -> Value) -> Value {
        if let value = self[key] { return value }
        let value = make()
        self[key] = value
        return value
    }
}
