import PeepholeCore

/// A body of the Peephole JSON API: decoded from a `JSONValue`, nested arrays within a depth
/// that depends on the request limits.
public protocol PeepholeRequestBody: Decodable, Sendable {
    /// The deepest nesting accepted in this body under `limits`.
    static func maxDepth(_ limits: RequestLimits) -> Int
}

/// `POST …/predict`: `{"inputs"}` or `{"text"}`, `top_k` and `interventions`.
public struct PredictRequest: PeepholeRequestBody {
    /// What to run the model on.
    public var input: InputBody
    /// How many most likely tokens to list per row.
    public var topK: Int?
    /// States clamped during the pass.
    var interventions: Interventions

    public static func maxDepth(_ limits: RequestLimits) -> Int { limits.maxDepth + 2 }

    /// The body's fields.
    private static let accepted: Set<String> = ["inputs", "text", "top_k", Interventions.field]

    public init(from decoder: any Decoder) throws {
        let fields = try JSONFields(from: decoder, accepted: Self.accepted)
        input = try InputBody(fields)
        interventions = try Interventions(fields)
        switch fields["top_k"] {
        case nil: break
        case let .number(k)? where k >= 1 && k.rounded() == k && k < 1e9: topK = Int(k)
        case let other?: throw PeepholeError.invalidInput(field: "top_k", message: "expected a positive integer, got \(other.typeName)")
        }
    }
}

/// The answer to `predict`: `{"model", "version", "outputs"}` and `"top_k"` when asked.
public struct PredictResponse: Encodable, Sendable {
    /// The model's name.
    public var model: String
    /// The version that ran.
    public var version: Int
    /// The model's output, batch first; by output name for a model with several.
    public var outputs: OutputsJSON
    /// Per row, the most likely tokens, best first.
    public var topK: [[TokenProbability]]?

    enum CodingKeys: String, CodingKey { case model, version, outputs, topK = "top_k" }
}

extension PredictResponse: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.string(model, key: "model")
        writer.int(version, key: "version")
        switch outputs {
        case let .single(tensor):
            writer.tensor(tensor, key: "outputs")
        case let .named(outputs):
            writer.beginObject("outputs")
            for (name, tensor) in outputs { writer.tensor(tensor, key: name) }
            writer.endObject()
        }
        if let topK {
            writer.beginArray("top_k")
            for row in topK {
                writer.beginArray()
                for entry in row {
                    writer.beginObject()
                    writer.string(entry.token, key: "token")
                    writer.float(entry.p, key: "p")
                    writer.endObject()
                }
                writer.endArray()
            }
            writer.endArray()
        }
        writer.endObject()
    }
}

/// A token and its probability.
public struct TokenProbability: Encodable, Sendable {
    /// The token, from the model's vocabulary.
    public var token: String
    /// Its probability.
    public var p: Float
}

/// A model's outputs in a response: the one output's nested arrays, or, for a model with several,
/// an object of them keyed by Keras' output names in the model's order.
public enum OutputsJSON: Encodable, Sendable {
    case single(Tensor)
    case named([(name: String, tensor: Tensor)])

    /// A model's `outputs`: one bare, several by output name.
    init(_ outputs: [Tensor], of network: Network) {
        self = outputs.count == 1 ? .single(outputs[0]) : .named(zip(network.outputs, outputs).map { ($0.name, $1) })
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .single(tensor):
            var container = encoder.singleValueContainer()
            try container.encode(TensorJSON(tensor))
        case let .named(outputs):
            var container = encoder.container(keyedBy: JSONKey.self)
            for (name, tensor) in outputs { try container.encode(TensorJSON(tensor), forKey: JSONKey(name)) }
        }
    }
}
