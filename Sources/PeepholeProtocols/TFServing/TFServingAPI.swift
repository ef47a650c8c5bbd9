import PeepholeCore

/// TensorFlow Serving's REST API, one function per route: version status, the
/// `serving_default` signature from the model's signature, and `:predict` in the row
/// (`instances`) and columnar (`inputs`) formats. Predictions run through the runner's shared
/// passes, as the Peephole API's `/predict` does.
public struct TFServingAPI: Sendable {
    /// The one signature served.
    public static let signatureName = "serving_default"

    /// The bounds on what one request may ask for.
    public let limits: RequestLimits
    /// Where forward passes run.
    public let runner: any InferenceRunner

    /// An API under `limits`, running passes on `runner`.
    public init(limits: RequestLimits, runner: any InferenceRunner) {
        self.limits = limits
        self.runner = runner
    }

    /// `GET /v1/models/{m}[/versions/{v}]`: every version listed `AVAILABLE`.
    public func status(versions: [Int]) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.beginArray("model_version_status")
        for version in versions.sorted(by: >) {
            writer.beginObject()
            writer.string(String(version), key: "version")
            writer.string("AVAILABLE", key: "state")
            writer.beginObject("status")
            writer.string("OK", key: "error_code")
            writer.string("", key: "error_message")
            writer.endObject()
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    /// `GET /v1/models/{m}[/versions/{v}]/metadata`: `model_spec` and the `serving_default`
    /// signature, sizes as strings and `-1` for axes of any size, as TF Serving writes them.
    public func metadata(_ model: LoadedModel) -> [UInt8] {
        let signature = ModelSignature(model)
        var writer = JSONWriter()
        writer.beginObject()
        writer.beginObject("model_spec")
        writer.string(model.info.model, key: "name")
        writer.string("", key: "signature_name")
        writer.string(String(model.info.version), key: "version")
        writer.endObject()
        writer.beginObject("metadata")
        writer.beginObject("signature_def")
        writer.beginObject("signature_def")
        writer.beginObject(Self.signatureName)
        for (key, tensors) in [("inputs", signature.inputs), ("outputs", signature.outputs)] {
            writer.beginObject(key)
            for tensor in tensors {
                writer.beginObject(tensor.name)
                writer.string(tensor.dtype == .int32 ? "DT_INT32" : "DT_FLOAT", key: "dtype")
                writer.beginObject("tensor_shape")
                writer.beginArray("dim")
                for size in tensor.shape {
                    writer.beginObject()
                    writer.string(String(size ?? -1), key: "size")
                    writer.string("", key: "name")
                    writer.endObject()
                }
                writer.endArray()
                writer.bool(false, key: "unknown_rank")
                writer.endObject()
                writer.string(key == "inputs" ? "serving_default_\(tensor.name):0" : "StatefulPartitionedCall:0", key: "name")
                writer.endObject()
            }
            writer.endObject()
        }
        writer.string("tensorflow/serving/predict", key: "method_name")
        writer.endObject()
        writer.endObject()
        writer.endObject()
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }

    /// `POST …:predict`: `{"instances"}` → `{"predictions"}`, `{"inputs"}` → `{"outputs"}`; a
    /// single output is written without its name.
    public func predict(_ body: [UInt8], model: LoadedModel) async throws -> [UInt8] {
        let fields = try JSONFields(try JSONValue.parse(body, maxDepth: limits.maxDepth + 3), accepted: ["signature_name", "instances", "inputs"])
        if let name = try fields.string("signature_name", expected: "a string"), name != Self.signatureName {
            throw PeepholeError.invalidInput(field: "signature_name", message: "serving signature name \"\(name)\" not found in signature def (this model has \"\(Self.signatureName)\")")
        }
        let signature = ModelSignature(model)
        let rowFormat = fields["instances"] != nil
        let value: JSONValue
        switch (fields["instances"], fields["inputs"]) {
        case let (instances?, nil): value = try Self.rowsInput(instances, name: signature.inputs[0].name)
        case let (nil, inputs?): value = try Self.columnsInput(inputs, name: signature.inputs[0].name)
        case (nil, nil): throw PeepholeError.invalidInput(field: "instances", message: "missing: send {\"instances\": [...]} (rows) or {\"inputs\": ...} (columns)")
        case (_?, _?): throw PeepholeError.invalidInput(field: "inputs", message: "send either instances or inputs, not both")
        }
        let input = try Self.input(value, field: rowFormat ? "instances" : "inputs").tensor(for: model, limits: limits)
        let output = try await runner.output(model, .model, input: input, endpoint: "tfs_predict")
        var writer = JSONWriter()
        writer.beginObject()
        // One output today: written bare; several would be an object by name (per row for instances).
        writer.tensor(output, key: rowFormat ? "predictions" : "outputs")
        writer.endObject()
        return writer.bytes
    }

    /// The row format's input: a list of rows, or of `{name: row}` objects for named inputs.
    private static func rowsInput(_ instances: JSONValue, name: String) throws -> JSONValue {
        guard let rows = instances.elements, !rows.isEmpty else {
            throw PeepholeError.invalidInput(field: "instances", message: "expected a non-empty list of instances, got \(instances.typeName)")
        }
        guard case .object = rows[0] else { return instances }
        return .array(try rows.enumerated().map { index, row in
            let fields = try JSONFields(row, accepted: [name], path: "instances[\(index)]", expected: "an object like instances[0]")
            guard let value = fields[name] else { throw PeepholeError.invalidInput(field: "instances[\(index)].\(name)", message: "missing") }
            return value
        })
    }

    /// The columnar format's input: a tensor, or `{name: tensor}` for named inputs.
    private static func columnsInput(_ inputs: JSONValue, name: String) throws -> JSONValue {
        guard case .object = inputs else { return inputs }
        let fields = try JSONFields(inputs, accepted: [name], path: "inputs")
        guard let value = fields[name] else { throw PeepholeError.invalidInput(field: "inputs.\(name)", message: "missing") }
        return value
    }

    /// Numbers as a tensor, or a list of strings as text for a model with a vocabulary.
    private static func input(_ value: JSONValue, field: String) throws -> InputBody {
        if let first = value.elements?.first, case .string = first { return .text(value, others: [:]) }
        return .inputs(try TensorReading.tensor(value, field: field))
    }
}
