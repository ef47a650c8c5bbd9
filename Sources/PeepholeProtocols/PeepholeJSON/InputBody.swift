import PeepholeCore

/// What every inference body runs on: `{"inputs": X}` (nested arrays, batch first), `{"inputs":
/// {"<input name>": X, …}}` (a model with several inputs), or `{"text": [...]}` (strings of equal
/// length, encoded with the model's vocabulary into its text input; a model with several inputs
/// takes the others by name in `inputs`).
public enum InputBody: Sendable {
    /// Numbers, already read into a tensor.
    case inputs(Tensor)
    /// Numbers by input name.
    case named([String: Tensor])
    /// Text, as sent: checked and encoded against the model; the other inputs by name.
    case text(JSONValue, others: [String: Tensor])

    /// Reads `inputs` or `text` from a body's fields.
    init(_ fields: JSONFields) throws {
        switch (fields["inputs"], fields["text"]) {
        case let (.object(named)?, text):
            guard !named.isEmpty || text != nil else { throw PeepholeError.invalidInput(field: "inputs", message: "expected the model's inputs by name, got an empty object") }
            let tensors = try named.reduce(into: [:]) { $0[$1.key] = try TensorReading.tensor($1.value, field: "inputs.\($1.key)") }
            self = text.map { .text($0, others: tensors) } ?? .named(tensors)
        case let (inputs?, nil): self = .inputs(try TensorReading.tensor(inputs, field: "inputs"))
        case let (nil, text?): self = .text(text, others: [:])
        case (nil, nil): throw PeepholeError.invalidInput(field: "inputs", message: "missing: send {\"inputs\": [...]} or {\"text\": [...]}")
        case (_?, _?): throw PeepholeError.invalidInput(field: "text", message: "send either inputs or text; with text, inputs may only name the model's other inputs, as an object")
        }
    }

    /// The model's inputs in its order, each checked against `limits`, together against the network.
    public func tensors(for model: LoadedModel, limits: RequestLimits) throws -> [Tensor] {
        let specs = model.network.inputs
        var named: [String: Tensor]
        switch self {
        case .inputs:
            guard specs.count == 1 else {
                throw PeepholeError.invalidInput(field: "inputs", message: "this model takes \(specs.count) inputs; send {\"inputs\": {\(specs.map { "\"\($0.name)\": [...]" }.joined(separator: ", "))}}")
            }
            return [try single(for: model, limits: limits)]
        case let .text(_, others) where specs.count == 1 && others.isEmpty:
            return [try single(for: model, limits: limits)]
        case let .text(_, others):
            guard let textInput = model.textInputIndex else { return [try single(for: model, limits: limits)] }  // names what is missing
            if others.keys.contains(where: { model.network.inputIndex(named: $0) == textInput }) {
                throw PeepholeError.invalidInput(field: "inputs.\(specs[textInput].name)", message: "given twice: text is encoded into this input")
            }
            named = others
            named[specs[textInput].name] = try single(for: model, limits: limits, validate: false)
        case let .named(given):
            named = given
        }
        var byIndex: [Int: Tensor] = [:]
        for (key, tensor) in named.sorted(by: { $0.key < $1.key }) {
            guard let index = model.network.inputIndex(named: key) else {
                throw PeepholeError.invalidInput(field: "inputs.\(key)", message: "unknown input (the model's: \(specs.map(\.name).joined(separator: ", ")))")
            }
            guard byIndex.updateValue(tensor, forKey: index) == nil else {
                throw PeepholeError.invalidInput(field: "inputs.\(key)", message: "given twice: it is input '\(specs[index].name)'")
            }
        }
        let tensors = try specs.enumerated().map { index, spec in
            guard let tensor = byIndex[index] else { throw PeepholeError.invalidInput(field: "inputs.\(spec.name)", message: "missing: the model takes it") }
            try limits.check(tensor, field: "inputs.\(spec.name)")
            return tensor
        }
        try model.network.validate(inputs: tensors, fields: specs.map { "inputs.\($0.name)" })
        return tensors
    }

    /// The input of a one-input model, checked; routes that run only such models (sessions) take it.
    public func tensor(for model: LoadedModel, limits: RequestLimits) throws -> Tensor {
        let inputs = try tensors(for: model, limits: limits)
        guard inputs.count == 1 else {
            throw PeepholeError.notApplicable(field: "inputs", message: "model '\(model.info.model)' takes \(inputs.count) inputs; this route runs models with one input")
        }
        return inputs[0]
    }

    /// The input of a one-input model sent as `inputs` or `text`, or a text input: text encoded,
    /// then checked (against the network too when `validate`).
    private func single(for model: LoadedModel, limits: RequestLimits, validate: Bool = true) throws -> Tensor {
        let input: Tensor
        switch self {
        case .named: preconditionFailure("named inputs are read by tensors(for:limits:)")
        case let .inputs(tensor):
            input = tensor
        case let .text(text, _):
            // Every element counts towards the batch; what is not a string is refused by `strings`.
            try limits.check(texts: (text.elements ?? []).map { if case let .string(value) = $0 { value } else { "" } }, field: "text")
            input = try model.encode(texts: try Self.strings(text, model: model))
        }
        // A text input among several is checked with the others by the caller.
        return validate ? try limits.checked(input, model: model) : input
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
