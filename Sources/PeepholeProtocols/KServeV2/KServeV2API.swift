import PeepholeCore

/// The KServe Open Inference Protocol (V2) over REST, one function per route, like
/// `PeepholeAPI`: metadata from the model's signature, and infer requests translated to core
/// calls. Plain outputs (the model's, or one layer's) go through the runner's shared passes;
/// states and per-step fields, several outputs, and sequences run alone.
public struct KServeV2API: Sendable {
    /// The server's name in `GET /v2`.
    public static let serverName = "peephole"
    /// The protocol version Peephole speaks, in `GET /v2`.
    public static let serverVersion = "2.0.0"
    /// The extensions listed in `GET /v2`.
    public static let extensions = ["binary_tensor_data", "sequence"]
    /// The `platform` of every model's metadata.
    public static let platform = "keras_lstm"

    /// The bounds on what one request may ask for.
    public let limits: RequestLimits
    /// Where forward passes run.
    public let runner: any InferenceRunner

    /// An API under `limits`, running passes on `runner`.
    public init(limits: RequestLimits, runner: any InferenceRunner) {
        self.limits = limits
        self.runner = runner
    }

    /// `GET /v2`: `{"name", "version", "extensions"}`.
    public func serverMetadata() -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.string(Self.serverName, key: "name")
        writer.string(Self.serverVersion, key: "version")
        writer.beginArray("extensions")
        for name in Self.extensions { writer.string(name) }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    /// `GET /v2/models/{m}[/versions/{v}]`: name, the loaded versions, platform, and the
    /// signature's inputs and outputs with `-1` for axes of any size.
    public func modelMetadata(_ model: LoadedModel, versions: [Int]) -> [UInt8] {
        let signature = ModelSignature(model)
        var writer = JSONWriter()
        writer.beginObject()
        writer.string(model.info.model, key: "name")
        writer.beginArray("versions")
        for version in versions.sorted() { writer.string(String(version)) }
        writer.endArray()
        writer.string(Self.platform, key: "platform")
        for (key, tensors) in [("inputs", signature.inputs), ("outputs", signature.outputs)] {
            writer.beginArray(key)
            for tensor in tensors {
                writer.beginObject()
                writer.string(tensor.name, key: "name")
                writer.string(key == "inputs" ? V2DataType.of(tensor.dtype) : "FP32", key: "datatype")
                writer.beginArray("shape")
                for size in tensor.shape { writer.int(size ?? -1) }
                writer.endArray()
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
        return writer.bytes
    }

    /// `POST …/infer`: runs `request` on `model` (from `session`'s carried states when the request
    /// belongs to a sequence; the session runs on `model`), computing only the outputs asked.
    public func infer(_ request: V2InferRequest, model: LoadedModel, session: (any SessionHolder)? = nil) async throws -> V2InferResponse {
        let signature = ModelSignature(model)
        let inputs = try modelInputs(request, model: model, expected: signature.inputs)
        let batch = inputs[0].shape[0]
        let requested = request.outputs ?? signature.outputs.map { V2RequestedOutput(name: $0.name) }
        let selections = try requested.map { try OutputSelection($0, model: model) }
        let plan = try OutputPlan(selections, model: model)
        let result: OutputPlan.Computed
        if let session {
            result = .result(try await runner.alone(model, endpoint: "v2_infer", batch: batch) {
                try session.withState { try $0.step(model, inputs, capture: plan.capture, traces: plan.traces) }
            })
        } else if let pass = plan.sharedPass {
            result = .outputs(try await runner.outputs(model, pass, inputs: inputs, endpoint: "v2_infer"))
        } else {
            result = .result(try await runner.alone(model, endpoint: "v2_infer", batch: batch) {
                model.network.run(inputs, through: plan.through, capture: plan.capture, states: plan.states, traces: plan.traces)
            })
        }
        let outputs = zip(requested, selections).map { requested, selection in
            let (shape, data) = plan.extract(selection, from: result)
            return V2InferResponse.Output(name: selection.name, shape: shape, data: data, binary: requested.binary ?? request.binaryOutput)
        }
        return V2InferResponse(modelName: model.info.model, modelVersion: String(model.info.version), id: request.id, outputs: outputs)
    }

    /// The model's inputs from the request's, in the model's order: every input the signature
    /// names (`expected`), nothing else.
    private func modelInputs(_ request: V2InferRequest, model: LoadedModel, expected: [ModelSignature.TensorSpec]) throws -> [Tensor] {
        func names() -> String { expected.map { "'\($0.name)'" }.joined(separator: ", ") }
        var given: [Int: V2Input] = [:]
        for input in request.inputs {
            guard let index = model.network.inputIndex(named: input.name) else {
                throw PeepholeError.invalidInput(field: "inputs", message: "unexpected input '\(input.name)': model '\(model.info.model)' takes \(names())")
            }
            guard given.updateValue(input, forKey: index) == nil else {
                throw PeepholeError.invalidInput(field: "inputs", message: "input '\(input.name)' is given twice")
            }
        }
        let tensors = try expected.enumerated().map { index, spec in
            guard let input = given[index] else {
                throw PeepholeError.invalidInput(field: "inputs", message: "missing input '\(spec.name)' of model '\(model.info.model)' (it takes \(names()))")
            }
            return try input.tensor(for: model, index: index, limits: limits)
        }
        try model.network.validate(inputs: tensors, fields: expected.map(\.name))
        return tensors
    }
}

/// A V2 infer response: `{"model_name", "model_version", "id"?, "outputs"}`, each output's data
/// in JSON or in the binary part that follows the JSON.
public struct V2InferResponse: Sendable {
    /// One output tensor.
    public struct Output: Sendable {
        public var name: String
        public var shape: [Int]
        public var data: [Float]
        /// Whether it goes in the binary part.
        public var binary: Bool
    }

    public var modelName: String
    public var modelVersion: String
    public var id: String?
    public var outputs: [Output]

    /// The JSON header and the binary part (empty when no output is binary).
    public func encoded() -> (json: [UInt8], binary: [UInt8]) {
        var writer = JSONWriter()
        var binary: [UInt8] = []
        writer.beginObject()
        writer.string(modelName, key: "model_name")
        writer.string(modelVersion, key: "model_version")
        if let id { writer.string(id, key: "id") }
        writer.beginArray("outputs")
        for output in outputs {
            writer.beginObject()
            writer.string(output.name, key: "name")
            writer.string("FP32", key: "datatype")
            writer.beginArray("shape")
            for size in output.shape { writer.int(size) }
            writer.endArray()
            if output.binary {
                writer.beginObject("parameters")
                writer.int(output.data.count * 4, key: "binary_data_size")
                writer.endObject()
                binary.append(contentsOf: V2Binary.bytes(output.data))
            } else {
                writer.tensor(Tensor(shape: [output.data.count], data: output.data), key: "data")
            }
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return (writer.bytes, binary)
    }

    /// Whether any output is binary (then the response carries `Inference-Header-Content-Length`).
    public var hasBinary: Bool { outputs.contains(where: \.binary) }
}
