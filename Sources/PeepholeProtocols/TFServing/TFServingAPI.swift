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
            for (index, tensor) in tensors.enumerated() {
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
                writer.string(key == "inputs" ? "serving_default_\(tensor.name):0" : "StatefulPartitionedCall:\(index)", key: "name")
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

    /// The fields of a `:predict` body.
    private static let bodyFields: Set<String> = ["signature_name", "instances", "inputs"]

    /// `POST …:predict`: `{"instances"}` → `{"predictions"}`, `{"inputs"}` → `{"outputs"}`. A
    /// model with several inputs takes each instance as `{name: row}` and the columns as `{name:
    /// tensor}`; a single output is written without its name, several as `{name: row}` per
    /// prediction or `{name: tensor}`, as TF Serving does.
    public func predict(_ body: some Collection<UInt8>, model: LoadedModel) async throws -> [UInt8] {
        let fields = try JSONFields(try JSONValue.parse(body, maxDepth: limits.maxDepth + 3), accepted: Self.bodyFields)
        if let name = try fields.string("signature_name", expected: "a string"), name != Self.signatureName {
            throw PeepholeError.invalidInput(field: "signature_name", message: "serving signature name \"\(name)\" not found in signature def (this model has \"\(Self.signatureName)\")")
        }
        let signature = ModelSignature(model)
        let names = signature.inputs.map(\.name)
        let rowFormat = fields["instances"] != nil
        let values: [JSONValue]
        switch (fields["instances"], fields["inputs"]) {
        case let (instances?, nil): values = try Self.rowsInputs(instances, network: model.network)
        case let (nil, inputs?): values = try Self.columnsInputs(inputs, network: model.network)
        case (nil, nil): throw PeepholeError.invalidInput(field: "instances", message: "missing: send {\"instances\": [...]} (rows) or {\"inputs\": ...} (columns)")
        case (_?, _?): throw PeepholeError.invalidInput(field: "inputs", message: "send either instances or inputs, not both")
        }
        let field = rowFormat ? "instances" : "inputs"
        let body = try Self.body(values, names: names, field: field, model: model)
        let inputs: [Tensor]
        do {
            inputs = try body.tensors(for: model, limits: limits)
        } catch let error as PeepholeError {
            // Text rows are `instances[i]` or `inputs[i]`, `instances[i].<input>` or `inputs.<input>[i]` with several inputs.
            let input = names.count == 1 ? nil : model.textInputIndex.map { names[$0] }
            throw error.renamingText { row in input.map { rowFormat ? "instances\(row).\($0)" : "inputs.\($0)\(row)" } ?? field + row }
        }
        let outputs = try await runner.outputs(model, .model, inputs: inputs, endpoint: "tfs_predict")
        var writer = JSONWriter()
        writer.beginObject()
        if outputs.count == 1 {
            writer.tensor(outputs[0], key: rowFormat ? "predictions" : "outputs")
        } else if rowFormat {
            writer.beginArray("predictions")
            for row in 0..<outputs[0].shape[0] {
                writer.beginObject()
                for (spec, output) in zip(signature.outputs, outputs) { Self.write(row: row, of: output, key: spec.name, into: &writer) }
                writer.endObject()
            }
            writer.endArray()
        } else {
            writer.beginObject("outputs")
            for (spec, output) in zip(signature.outputs, outputs) { writer.tensor(output, key: spec.name) }
            writer.endObject()
        }
        writer.endObject()
        return writer.bytes
    }

    /// Row `row` of `output`: a number for a `[batch]` output, else nested arrays.
    private static func write(row: Int, of output: Tensor, key: String, into writer: inout JSONWriter) {
        let width = output.data.count / max(output.shape[0], 1)
        let values = Array(output.data[(row * width)..<((row + 1) * width)])
        if output.shape.count == 1 { return writer.float(values[0], key: key) }
        writer.tensor(Tensor(shape: Array(output.shape.dropFirst()), data: values), key: key)
    }

    /// The row format's inputs, one value per model input: a list of rows (one input), or of
    /// `{name: row}` objects.
    private static func rowsInputs(_ instances: JSONValue, network: Network) throws -> [JSONValue] {
        guard let rows = instances.elements, !rows.isEmpty else {
            throw PeepholeError.invalidInput(field: "instances", message: "expected a non-empty list of instances, got \(instances.typeName)")
        }
        guard case .object = rows[0] else {
            try requireOneInput(network, field: "instances[0]")
            return [instances]
        }
        let perRow = try rows.enumerated().map { index, row in
            try byInput(row, path: "instances[\(index)]", expected: "an object like instances[0]", network: network)
        }
        return network.inputs.indices.map { input in .array(perRow.map { $0[input] }) }
    }

    /// The columnar format's inputs, one value per model input: a tensor (one input), or `{name: tensor}`.
    private static func columnsInputs(_ inputs: JSONValue, network: Network) throws -> [JSONValue] {
        guard case .object = inputs else {
            try requireOneInput(network, field: "inputs")
            return [inputs]
        }
        return try byInput(inputs, path: "inputs", expected: "a JSON object", network: network)
    }

    /// A value that names no input is only for a one-input model.
    private static func requireOneInput(_ network: Network, field: String) throws {
        let names = network.inputs.map(\.name)
        guard names.count == 1 else {
            throw PeepholeError.invalidInput(field: field, message: "expected an object {\(names.map { "\"\($0)\": …" }.joined(separator: ", "))}: the model takes \(names.count) inputs")
        }
    }

    /// An object's values by model input, in the model's order, its keys resolved as every
    /// protocol resolves input names (`Network.inputIndex(named:)`).
    private static func byInput(_ object: JSONValue, path: String, expected: String, network: Network) throws -> [JSONValue] {
        let fields = try JSONFields(object, accepted: network.acceptedInputNames, path: path, expected: expected)
        var values = [JSONValue?](repeating: nil, count: network.inputs.count)
        for (key, value) in fields.fields.sorted(by: { $0.key < $1.key }) {
            let index = network.inputIndex(named: key)!
            guard values[index] == nil else {
                throw PeepholeError.invalidInput(field: fields.name(key), message: "given twice: it is input '\(network.inputs[index].name)'")
            }
            values[index] = value
        }
        return try network.inputs.enumerated().map { index, input in
            guard let value = values[index] else { throw PeepholeError.invalidInput(field: fields.name(input.name), message: "missing") }
            return value
        }
    }

    /// The inputs as the Peephole API reads them: numbers as tensors, a list of strings as text
    /// for the model's text input.
    private static func body(_ values: [JSONValue], names: [String], field: String, model: LoadedModel) throws -> InputBody {
        var text: JSONValue?
        var named: [String: Tensor] = [:]
        for (name, value) in zip(names, values) {
            let path = names.count == 1 ? field : "\(field).\(name)"
            if let first = value.elements?.first, case .string = first {
                guard names.count == 1 || model.textInputIndex.map({ names[$0] }) == name else {
                    throw PeepholeError.invalidInput(field: path, message: "strings (text) go to input '\(model.textInputIndex.map { names[$0] } ?? "none")', the one the vocabulary encodes; send numbers here")
                }
                text = value
            } else {
                named[name] = try TensorReading.tensor(value, field: path)
            }
        }
        if let text { return .text(text, others: names.count == 1 ? [:] : named) }
        return names.count == 1 ? .inputs(named[names[0]]!) : .named(named)
    }
}
