/// Bounds on what one request may ask for; the server reads them from its configuration.
public struct RequestLimits: Sendable, Codable, Equatable {
    /// The most sequences in one request.
    public var maxBatch: Int = 1024
    /// The most timesteps in one sequence.
    public var maxSteps: Int = 4096
    /// The deepest nesting accepted in a request body's arrays.
    public var maxDepth: Int = 8
    /// The most characters one `/generate` request may ask for.
    public var maxGenerate: Int = 10_000

    /// The defaults.
    public init() {}
}

/// A decoded inference request: `{"inputs": X}` or `{"text": [...]}`, plus options.
public struct InferenceRequest: Sendable {
    /// The model input, batch first.
    public var input: Tensor
    /// `top_k`: how many most likely tokens to list per row (prediction only).
    public var topK: Int?
    /// `states`: whether to return an LSTM layer's final states (layer output only).
    public var states: Bool = false
    /// `sequences`, `gates`, `preactivations`, `units`, `steps`: what to record of an LSTM
    /// layer step by step (layer output only).
    public var trace = TraceOptions()
    /// `initial_state`: the state an LSTM layer starts from, checked against the layer later.
    public var initialState: JSONValue?
    /// `layer`: the layer whose output and internals a session step also returns.
    public var layer: String?

    /// Which endpoint a request is for; each accepts its own options.
    public enum Endpoint: Sendable {
        case predict, layerOutput, sessionStep

        var options: Set<String> {
            switch self {
            case .predict: ["inputs", "text", "top_k"]
            case .layerOutput: ["inputs", "text", "states", "sequences", "gates", "preactivations", "units", "steps", "initial_state"]
            case .sessionStep: ["inputs", "text", "layer", "states", "sequences", "gates", "preactivations", "units", "steps"]
            }
        }
    }

    /// Decodes and validates a request body against `model`.
    public static func decode(_ body: some Collection<UInt8>, for model: LoadedModel, endpoint: Endpoint, limits: RequestLimits) throws -> InferenceRequest {
        guard case let .object(fields) = try JSONValue.parse(body, maxDepth: limits.maxDepth + 2) else {
            throw PeepholeError.invalidInput(field: "body", message: "expected a JSON object")
        }
        if let unknown = fields.keys.sorted().first(where: { !endpoint.options.contains($0) }) {
            throw PeepholeError.invalidInput(field: unknown, message: "unknown field (accepted: \(endpoint.options.sorted().joined(separator: ", ")))")
        }
        let input: Tensor
        switch (fields["inputs"], fields["text"]) {
        case let (inputs?, nil):
            input = try JSONShape.tensor(inputs, field: "inputs")
        case let (nil, text?):
            // Checked before encoding, which allocates a one-hot row per character.
            if let texts = text.elements, texts.count > limits.maxBatch {
                throw PeepholeError.invalidInput(field: "text", message: "batch of \(texts.count) exceeds the limit of \(limits.maxBatch)")
            }
            for case let .string(value) in text.elements ?? [] where value.unicodeScalars.count > limits.maxSteps {
                throw PeepholeError.invalidInput(field: "text", message: "\(value.unicodeScalars.count) characters exceed the limit of \(limits.maxSteps) steps")
            }
            input = try TextEncoding.encode(text, model: model)
        case (nil, nil):
            throw PeepholeError.invalidInput(field: "inputs", message: "missing: send {\"inputs\": [...]} or {\"text\": [...]}")
        case (_?, _?):
            throw PeepholeError.invalidInput(field: "text", message: "send either inputs or text, not both")
        }
        if input.shape[0] > limits.maxBatch {
            throw PeepholeError.invalidInput(field: "inputs", message: "batch of \(input.shape[0]) exceeds the limit of \(limits.maxBatch)")
        }
        if input.shape.count >= 2, input.shape[1] > limits.maxSteps {
            throw PeepholeError.invalidInput(field: "inputs", message: "\(input.shape[1]) timesteps exceed the limit of \(limits.maxSteps)")
        }
        try model.network.validate(input)
        var request = InferenceRequest(input: input)
        switch fields["top_k"] {
        case nil: break
        case let .number(k)? where k >= 1 && k.rounded() == k && k < 1e9: request.topK = Int(k)
        case let other?: throw PeepholeError.invalidInput(field: "top_k", message: "expected a positive integer, got \(other.typeName)")
        }
        request.states = try flag("states", in: fields)
        request.trace.sequence = try flag("sequences", in: fields)
        request.trace.gates = try flag("gates", in: fields)
        request.trace.preactivations = try flag("preactivations", in: fields)
        switch fields["units"] {
        case nil: break
        case let value? where !(value.elements ?? []).isEmpty:
            let elements = value.elements!
            request.trace.units = try elements.enumerated().map { index, element in
                guard case let .number(value) = element, value >= 0, value.rounded() == value, value < 1e9 else {
                    throw PeepholeError.invalidInput(field: "units[\(index)]", message: "expected a unit index (a non-negative integer), got \(element.typeName)")
                }
                return Int(value)
            }
            if Set(request.trace.units!).count != elements.count {
                throw PeepholeError.invalidInput(field: "units", message: "lists a unit twice")
            }
        case let other?:
            throw PeepholeError.invalidInput(field: "units", message: "expected a non-empty array of unit indices, got \(other.typeName)")
        }
        switch fields["steps"] {
        case nil: break
        case let .object(range)?:
            if let key = range.keys.first(where: { $0 != "from" && $0 != "to" }) {
                throw PeepholeError.invalidInput(field: "steps.\(key)", message: "unknown field (accepted: from, to)")
            }
            request.trace.steps = (try integer("from", in: range, field: "steps.from"), try integer("to", in: range, field: "steps.to"))
        case let other?:
            throw PeepholeError.invalidInput(field: "steps", message: "expected {\"from\": first, \"to\": end}, got \(other.typeName)")
        }
        request.initialState = fields["initial_state"]
        switch fields["layer"] {
        case nil: break
        case let .string(name)?: request.layer = name
        case let other?: throw PeepholeError.invalidInput(field: "layer", message: "expected a layer name, got \(other.typeName)")
        }
        return request
    }

    private static func flag(_ key: String, in fields: [String: JSONValue]) throws -> Bool {
        switch fields[key] {
        case nil: return false
        case let .bool(flag)?: return flag
        case let other?: throw PeepholeError.invalidInput(field: key, message: "expected true or false, got \(other.typeName)")
        }
    }

    private static func integer(_ key: String, in fields: [String: JSONValue], field: String) throws -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case let .number(value)? where value.rounded() == value && abs(value) < 1e9: return Int(value)
        case let other?: throw PeepholeError.invalidInput(field: field, message: "expected an integer, got \(other.typeName)")
        }
    }
}

/// Turns nested JSON arrays into tensors, naming what is wrong when they do not form one.
enum JSONShape {
    static func tensor(_ value: JSONValue, field: String) throws -> Tensor {
        if case let .numbers(shape, values) = value {
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                var path = field, rest = bad
                for axis in shape.indices {
                    let size = shape[(axis + 1)...].reduce(1, *)
                    path += "[\(rest / size)]"
                    rest %= size
                }
                throw PeepholeError.invalidInput(field: path, message: "the number there is not a finite float32")
            }
            guard shape[0] > 0 else { throw PeepholeError.invalidInput(field: field, message: "the batch is empty") }
            return Tensor(shape: shape, data: values)
        }
        var shape: [Int] = []
        var probe = value
        while let elements = probe.elements {
            shape.append(elements.count)
            guard let first = elements.first else { break }
            probe = first
        }
        guard !shape.isEmpty else {
            throw PeepholeError.invalidInput(field: field, message: "expected nested arrays of numbers, got \(value.typeName)")
        }
        guard shape[0] > 0 else { throw PeepholeError.invalidInput(field: field, message: "the batch is empty") }
        var data: [Float] = []
        data.reserveCapacity(shape.reduce(1, *))
        try flatten(value, shape: shape, axis: 0, path: field, into: &data)
        return Tensor(shape: shape, data: data)
    }

    private static func flatten(_ value: JSONValue, shape: [Int], axis: Int, path: @autoclosure () -> String, into data: inout [Float]) throws {
        if axis == shape.count {
            if case .numbers = value {
                throw PeepholeError.invalidInput(field: path(), message: "expected a number (shape \(shape)), got \(value.typeName): ragged array")
            }
            guard case let .number(number) = value else {
                throw PeepholeError.invalidInput(field: path(), message: "expected a number, got \(value.typeName)")
            }
            let float = Float(number)
            guard float.isFinite else {
                throw PeepholeError.invalidInput(field: path(), message: "\(number) is not a finite float32")
            }
            data.append(float)
            return
        }
        // A slow path for what the parser could not read as one rectangular array: a mix of
        // trees and rectangular parts, ragged or not numeric.
        guard let elements = value.elements else {
            throw PeepholeError.invalidInput(field: path(), message: "expected an array of \(shape[axis]) (shape \(shape)), got \(value.typeName): ragged or too shallow")
        }
        guard elements.count == shape[axis] else {
            throw PeepholeError.invalidInput(field: path(), message: "expected \(shape[axis]) elements like its siblings (shape \(shape)), got \(elements.count): ragged array")
        }
        for (index, element) in elements.enumerated() {
            try flatten(element, shape: shape, axis: axis + 1, path: "\(path())[\(index)]", into: &data)
        }
    }
}

/// Encodes text with a model's stored vocabulary: one-hot rows, or token ids for an Embedding.
public enum TextEncoding {
    /// Encodes `value` (a JSON array of strings of equal length) for `model`.
    public static func encode(_ value: JSONValue, model: LoadedModel) throws -> Tensor {
        guard let vocabulary = model.info.vocabulary else {
            throw PeepholeError.notApplicable(field: "text", message: "model '\(model.info.model)' version \(model.info.version) has no vocabulary; send inputs instead")
        }
        guard let texts = value.elements, !texts.isEmpty else {
            throw PeepholeError.invalidInput(field: "text", message: "expected a non-empty array of strings")
        }
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        var rows: [[Int]] = []
        for (row, element) in texts.enumerated() {
            guard case let .string(text) = element else {
                throw PeepholeError.invalidInput(field: "text[\(row)]", message: "expected a string, got \(element.typeName)")
            }
            rows.append(try text.unicodeScalars.enumerated().map { position, scalar in
                guard let id = index[String(scalar)] else {
                    throw PeepholeError.invalidInput(field: "text[\(row)]", message: "character \(debugName(scalar)) at position \(position) is not in the vocabulary")
                }
                return id
            })
        }
        let steps = rows[0].count
        guard steps > 0 else { throw PeepholeError.invalidInput(field: "text[0]", message: "is empty") }
        if let bad = rows.firstIndex(where: { $0.count != steps }) {
            throw PeepholeError.invalidInput(field: "text[\(bad)]", message: "has \(rows[bad].count) characters, text[0] has \(steps): texts in one request must have equal length")
        }
        if model.network.inputDType == .int32 {
            return Tensor(shape: [rows.count, steps], data: rows.flatMap { $0.map(Float.init) })
        }
        let width = vocabulary.count
        var data = [Float](repeating: 0, count: rows.count * steps * width)
        for (row, ids) in rows.enumerated() {
            for (step, id) in ids.enumerated() { data[(row * steps + step) * width + id] = 1 }
        }
        return Tensor(shape: [rows.count, steps, width], data: data)
    }

    private static func debugName(_ scalar: Unicode.Scalar) -> String {
        "'\(scalar.escaped(asASCII: false))' (U+\(String(scalar.value, radix: 16, uppercase: true)))"
    }
}
