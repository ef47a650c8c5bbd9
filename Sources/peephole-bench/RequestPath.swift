import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import PeepholeCore
import PeepholeProtocols
import PeepholeServer

/// Where the time of one `POST /predict` with a text goes inside the server, without sockets:
/// the server's own router (middleware, routes, the server runner with admission, metrics and
/// batcher) answers requests made in process, and each stage of that path is also run alone. Per
/// stage: the median time of one call and the heap allocations it makes. What a socket adds
/// (NIO, the kernel, the client) is the difference between `wrk`'s latency at one connection and
/// `in_process_*_us`, which `make bench`'s report works out.
enum RequestPath {
    /// A 40-character text in the demo model's vocabulary, as `make bench` sends it.
    static func text(for model: LoadedModel) -> String {
        let sample = "the quick brown fox jumps over the lazy dog and runs away"
        let known = Set(model.info.vocabulary ?? [])
        let characters = sample.filter { known.isEmpty || known.contains(String($0)) }
        return String(characters.prefix(model.network.inputShape[0] ?? 40))
    }

    /// `idleMicroseconds` > 0 sleeps that long before each timed call, as a server's core idles
    /// between the requests of one connection: what the same work costs with cold caches.
    static func measure(store path: String, model name: String, iterations: Int = 20_000, idleMicroseconds: Int = 0) async throws -> [String: Any] {
        var logger = Logger(label: "peephole-bench")
        logger.logLevel = .critical
        let store = try ModelStore(path: path, access: .readOnly)
        let registry = ModelRegistry(store: store, defaultModel: name, logger: logger)
        try registry.load()
        var config = ServerConfig()
        config.defaultModel = name
        let metrics = ServerMetrics()
        let responder = buildRouter(registry: registry, metrics: metrics, config: config).buildResponder()
        let channel = EmbeddedChannel()
        let source = ApplicationRequestContextSource(channel: channel, logger: logger)
        let model = try registry.model(nil, version: nil)

        let text = text(for: model)
        let body = ByteBuffer(string: "{\"text\": [\"\(text)\"]}")
        func request(_ method: HTTPRequest.Method, _ path: String, body: ByteBuffer? = nil, headers: HTTPFields = [.contentType: "application/json"]) -> Request {
            var fields = HTTPFields()
            if let body {
                fields.append(contentsOf: headers)
                fields[.contentLength] = String(body.readableBytes)
            }
            let head = HTTPRequest(method: method, scheme: "http", authority: "127.0.0.1", path: path, headerFields: fields)
            return Request(head: head, body: RequestBody(buffer: body ?? ByteBuffer()))
        }
        /// A request answered by the router, its body written out as the server writes it.
        func respond(_ request: Request) async throws -> Int {
            let response = try await responder.respond(to: request, context: PeepholeRequestContext(source: source))
            try await response.body.write(DiscardingWriter())
            return response.status.code
        }

        // Each stage alone, with what the stage before it produced.
        let limits = config.limits
        let decoder = PeepholeBodyDecoder(maxBodyBytes: config.maxBodyBytes, limits: limits)
        let decoded = try await decoder.decode(PredictRequest.self, from: request(.post, "/predict", body: body))
        let inputs = try decoded.input.tensors(for: model, limits: limits)
        let outputs = ForwardPass.model.outputs(of: model.network, inputs)
        let api = PeepholeAPI(limits: limits, runner: ReadyRunner(outputs: outputs))
        let answered = try await api.predict(decoded, model: model)
        let admission = ModelAdmission(limit: config.maxQueuePerModel)
        let batcher = InferenceBatcher(workers: config.resolvedBatchWorkers, limits: config.batchLimits, metrics: metrics,
                                       compute: { _, _, _ in outputs })
        let encoder = PeepholeResponseEncoder()
        let context = PeepholeRequestContext(source: source)

        guard try await respond(request(.post, "/predict", body: body)) == 200 else { throw BenchError("POST /predict did not answer 200") }
        var stages: [(stage: String, what: String, body: () async throws -> Void)] = [
            ("routing and middleware", "GET /health through the router: context, metrics and error middleware, route lookup, a tiny JSON answer",
             { _ = try await respond(request(.get, "/health")) }),
            ("body read and decode", "content type checked, body collected, JSON parsed into the request",
             { _ = try await decoder.decode(PredictRequest.self, from: request(.post, "/predict", body: body)) }),
            ("text to tensor", "the text checked against the request limits and one-hot encoded",
             { _ = try decoded.input.tensors(for: model, limits: limits) }),
            ("admission", "the model's in-flight bound taken and given back",
             { _ = try await admission.run(model) { 0 } }),
            ("metrics", "inference latency and batch size, request count and latency recorded",
             { _ = await metrics.measureInference(model, endpoint: "predict", batch: 1) { 0 }
               metrics.recordRequest(route: "/predict", method: "POST", status: 200, duration: .microseconds(100)) }),
            ("batching", "the batcher's bookkeeping around a pass that costs nothing (no other request waits)",
             { _ = try await batcher.run(model, .model, inputs: inputs) }),
            ("compute", "the forward pass, batch 1",
             { _ = ForwardPass.model.outputs(of: model.network, inputs) }),
            ("response", "the output made into the response (probabilities by token)",
             { _ = try await api.predict(decoded, model: model) }),
            ("encode", "the response written as JSON into the response body",
             { try await encoder.encode(answered, from: request(.post, "/predict"), context: context).body.write(DiscardingWriter()) }),
        ]

        // The same text as a one-hot `inputs` body (the 15 KB body of `make bench`) and as a V2
        // infer with a binary FP32 tensor.
        let oneHot = inputs[0]
        let oneHotBody = ByteBuffer(string: inputsBody(oneHot))
        let v2Header = "{\"inputs\":[{\"name\":\"\(model.network.inputs[0].name)\",\"shape\":\(oneHot.shape),\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":\(oneHot.data.count * 4)}}],\"parameters\":{\"binary_data_output\":true}}"
        var v2Body = ByteBuffer(string: v2Header)
        v2Body.writeBytes(V2Binary.bytes(oneHot.data))
        let v2HeaderLength = String(v2Header.utf8.count)
        let v2Headers: HTTPFields = [.contentType: "application/octet-stream", KServeV2Controller.headerLength: v2HeaderLength]
        let v2Path = "/v2/models/\(model.info.model)/infer"
        guard try await respond(request(.post, "/predict", body: oneHotBody)) == 200,
              try await respond(request(.post, v2Path, body: v2Body, headers: v2Headers)) == 200 else {
            throw BenchError("the one-hot /predict or the V2 binary infer did not answer 200")
        }
        // The V2 infer's own stages (body collection and routing are the text path's).
        let v2Bytes = Array(v2Body.readableBytesView)
        let v2Request = try V2InferRequest.read(v2Bytes, headerLength: v2HeaderLength, limits: limits)
        let v2API = KServeV2API(limits: limits, runner: ReadyRunner(outputs: outputs))
        let v2Response = try await v2API.infer(v2Request, model: model)
        stages += [
            ("v2 read", "the JSON header parsed and checked, the binary FP32 tensor read",
             { _ = try V2InferRequest.read(v2Bytes, headerLength: v2HeaderLength, limits: limits) }),
            ("v2 infer", "inputs matched to the model's, outputs planned, the output taken from the pass",
             { _ = try await v2API.infer(v2Request, model: model) }),
            ("v2 encode", "the JSON header and the binary output written into the response body",
             { _ = v2Response.encoded() }),
        ]
        var rows: [[String: Any]] = []
        for (stage, what, body) in stages {
            let measured = try await Measure.median(iterations, idle: idleMicroseconds, body)
            rows.append(["stage": stage, "what": what, "p50_us": measured.p50, "allocations": measured.allocations])
            FileHandle.standardError.write(Data("request path: \(stage): \(measured.p50) us, \(measured.allocations) allocations\n".utf8))
        }
        let health = try await Measure.median(iterations, idle: idleMicroseconds) { _ = try await respond(request(.get, "/health")) }
        let predict = try await Measure.median(iterations, idle: idleMicroseconds) { _ = try await respond(request(.post, "/predict", body: body)) }
        FileHandle.standardError.write(Data("request path: whole POST /predict in process: \(predict.p50) us, \(predict.allocations) allocations; GET /health \(health.p50) us\n".utf8))
        let predictOneHot = try await Measure.median(iterations, idle: idleMicroseconds) { _ = try await respond(request(.post, "/predict", body: oneHotBody)) }
        let v2 = try await Measure.median(iterations, idle: idleMicroseconds) { _ = try await respond(request(.post, v2Path, body: v2Body, headers: v2Headers)) }
        FileHandle.standardError.write(Data("request path: whole POST /predict one-hot (\(oneHotBody.readableBytes) bytes) in process: \(predictOneHot.p50) us, \(predictOneHot.allocations) allocations; V2 binary infer (\(v2Body.readableBytes) bytes): \(v2.p50) us, \(v2.allocations) allocations\n".utf8))
        return [
            "stages": rows, "text_characters": text.count, "idle_us": idleMicroseconds,
            "in_process_health_us": health.p50, "in_process_health_allocations": health.allocations,
            "in_process_predict_text_us": predict.p50, "in_process_predict_text_allocations": predict.allocations,
            "in_process_predict_one_hot_us": predictOneHot.p50, "in_process_predict_one_hot_allocations": predictOneHot.allocations,
            "one_hot_body_bytes": oneHotBody.readableBytes,
            "in_process_v2_binary_us": v2.p50, "in_process_v2_binary_allocations": v2.allocations,
            "v2_binary_body_bytes": v2Body.readableBytes,
        ]
    }

    /// The `/predict` body `{"inputs": …}` of `tensor`, written as Python's `json.dumps` writes it
    /// (`make bench`'s body: `0.0`/`1.0` for one-hot rows).
    static func inputsBody(_ tensor: Tensor) -> String {
        "{\"inputs\": \(nested(tensor.data[...], shape: tensor.shape[...]))}"
    }

    /// `data` as nested JSON arrays of `shape`, comma and space between elements.
    private static func nested(_ data: ArraySlice<Float>, shape: ArraySlice<Int>) -> String {
        guard let count = shape.first, shape.count > 1 else {
            return "[" + data.map { "\($0)" }.joined(separator: ", ") + "]"
        }
        let size = shape.dropFirst().reduce(1, *)
        let parts = (0..<count).map { nested(data.dropFirst($0 * size).prefix(size), shape: shape.dropFirst()) }
        return "[" + parts.joined(separator: ", ") + "]"
    }
}

/// A runner whose passes cost nothing: every pass answers `outputs`, computed once beforehand.
private struct ReadyRunner: InferenceRunner {
    let outputs: [Tensor]

    func outputs(_ model: LoadedModel, _ pass: ForwardPass, inputs: [Tensor], endpoint: String) async throws -> [Tensor] { outputs }

    func alone<T: Sendable>(_ model: LoadedModel, endpoint: String, batch: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try work()
    }
}

/// Takes a response body as the server's writer would, and drops it.
private struct DiscardingWriter: ResponseBodyWriter {
    func write(_ buffer: ByteBuffer) async throws {}

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
