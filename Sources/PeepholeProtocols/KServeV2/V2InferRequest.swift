import PeepholeCore

/// A V2 datatype Peephole reads: floats and integers (converted to float32, token ids checked
/// by the model), and BYTES (text, encoded with the model's vocabulary).
public enum V2DataType: String, Sendable {
    case fp32 = "FP32", fp64 = "FP64", int32 = "INT32", int64 = "INT64", bytes = "BYTES"

    /// Bytes per element in binary data; nil for BYTES (length-prefixed).
    var elementSize: Int? {
        switch self {
        case .fp32, .int32: 4
        case .fp64, .int64: 8
        case .bytes: nil
        }
    }

    /// The V2 name of a model input type.
    static func of(_ dtype: InputDType) -> String { dtype == .int32 ? "INT32" : "FP32" }
}

/// One input of a V2 infer request, read and checked against its own shape.
public struct V2Input: Sendable {
    /// The input's name.
    public var name: String
    /// Its shape, batch first.
    public var shape: [Int]
    /// Its datatype as sent.
    public var datatype: V2DataType
    /// Numbers (every numeric datatype) or strings (BYTES), row-major.
    public var values: Values

    /// The elements of an input.
    public enum Values: Sendable {
        case numbers([Float])
        case strings([String])
    }

    /// The model input at `index`: numbers as a tensor of the sent shape, strings encoded as
    /// text (into the model's text input only); checked against `limits` (the caller checks all
    /// of them against the network together).
    func tensor(for model: LoadedModel, index: Int, limits: RequestLimits) throws -> Tensor {
        let input: Tensor
        switch values {
        case let .numbers(data):
            guard !shape.isEmpty else { throw PeepholeError.invalidInput(field: name, message: "shape [] is a scalar: send a batch") }
            input = Tensor(shape: shape, data: data)
        case let .strings(texts):
            guard shape.count == 1 || (shape.count == 2 && shape[1] == 1) else {
                throw PeepholeError.invalidInput(field: name, message: "BYTES input has shape \(shape): send one string per sequence, shape [batch] or [batch, 1]")
            }
            if let textInput = model.textInputIndex, textInput != index {
                throw PeepholeError.invalidInput(field: name, message: "BYTES (text) goes to input '\(model.network.inputs[textInput].name)', the one the vocabulary encodes; send numbers here")
            }
            try limits.check(texts: texts, field: name)
            do {
                input = try model.encode(texts: texts)
            } catch let error as PeepholeError {
                throw error.renamingText { row in name + row }
            }
        }
        try limits.check(input, field: name)
        return input
    }
}

/// A V2 output asked for by name, with its parameters.
public struct V2RequestedOutput: Sendable {
    /// A model output, a layer, or a layer's state or per-step field (`lstm/h`, `lstm/gates/i`).
    public var name: String
    /// `binary_data`: answer this output in the binary part (nil: as the request says).
    public var binary: Bool?
    /// `units`: only these units of a per-step field.
    public var units: [Int]?
    /// `steps_from`, `steps_to`: only these steps of a per-step field, Python-style.
    public var stepsFrom: Int?, stepsTo: Int?
}

/// V2 `parameters.sequence_id` / `sequence_start` / `sequence_end`: state carried between
/// calls, as Triton's sequence batcher does.
public struct V2Sequence: Sendable, Equatable {
    /// The correlation id, as sent (a number's decimal digits, or a string).
    public var id: String
    /// This call starts the sequence (from zero state).
    public var start: Bool
    /// This call ends it.
    public var end: Bool
}

/// A V2 infer request: the JSON header and its inputs' data, binary or JSON.
public struct V2InferRequest: Sendable {
    /// `id`, echoed in the response.
    public var id: String?
    /// The inputs, as sent.
    public var inputs: [V2Input]
    /// `outputs`: nil for the model's outputs.
    public var outputs: [V2RequestedOutput]?
    /// `parameters.binary_data_output`: answer every output in binary unless it says otherwise.
    public var binaryOutput: Bool
    /// The sequence this call belongs to, if any.
    public var sequence: V2Sequence?
}
