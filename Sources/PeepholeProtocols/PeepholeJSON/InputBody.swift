import PeepholeCore

/// What every inference body runs on: `{"inputs": X}` (nested arrays, batch first) or
/// `{"text": [...]}` (strings of equal length, encoded with the model's vocabulary).
public enum InputBody: Sendable {
    /// Numbers, already read into a tensor.
    case inputs(Tensor)
    /// Text, as sent: checked and encoded against the model.
    case text(JSONValue)

    /// Reads `inputs` or `text` from a body's fields.
    init(_ fields: JSONFields) throws {
        switch (fields["inputs"], fields["text"]) {
        case let (inputs?, nil): self = .inputs(try TensorReading.tensor(inputs, field: "inputs"))
        case let (nil, text?): self = .text(text)
        case (nil, nil): throw PeepholeError.invalidInput(field: "inputs", message: "missing: send {\"inputs\": [...]} or {\"text\": [...]}")
        case (_?, _?): throw PeepholeError.invalidInput(field: "text", message: "send either inputs or text, not both")
        }
    }

    /// The model input: text encoded, then checked against `limits` and the network.
    public func tensor(for model: LoadedModel, limits: RequestLimits) throws -> Tensor {
        let input: Tensor
        switch self {
        case let .inputs(tensor):
            input = tensor
        case let .text(text):
            // Checked before encoding, which allocates a one-hot row per character.
            if let texts = text.elements, texts.count > limits.maxBatch {
                throw PeepholeError.invalidInput(field: "text", message: "batch of \(texts.count) exceeds the limit of \(limits.maxBatch)")
            }
            for case let .string(value) in text.elements ?? [] where value.unicodeScalars.count > limits.maxSteps {
                throw PeepholeError.invalidInput(field: "text", message: "\(value.unicodeScalars.count) characters exceed the limit of \(limits.maxSteps) steps")
            }
            input = try model.encode(texts: try Self.strings(text, model: model))
        }
        return try limits.checked(input, model: model)
    }

    /// The strings of a `text` field.
    private static func strings(_ value: JSONValue, model: LoadedModel) throws -> [String] {
        guard model.info.vocabulary != nil else { return [] }  // `encode` names what is missing
        guard let texts = value.elements, !texts.isEmpty else {
            throw PeepholeError.invalidInput(field: "text", message: "expected a non-empty array of strings")
        }
        return try texts.enumerated().map { row, element in
            guard case let .string(text) = element else {
                throw PeepholeError.invalidInput(field: "text[\(row)]", message: "expected a string, got \(element.typeName)")
            }
            return text
        }
    }
}
