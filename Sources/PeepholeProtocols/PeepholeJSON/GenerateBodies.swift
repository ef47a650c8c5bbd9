import PeepholeCore

/// `POST …/generate`: `{"prompt", "length", "temperature", "seed", "top_k"}`; a missing seed is
/// drawn at random (and returned, so the text can be made again).
public struct GenerateRequest: PeepholeRequestBody {
    /// What to generate.
    public var options: Generation.Options
    /// States clamped while generating, checked against the model.
    var interventions: Interventions

    public static func maxDepth(_ limits: RequestLimits) -> Int { 5 }

    public init(from decoder: any Decoder) throws {
        let fields = try JSONFields(from: decoder, accepted: ["prompt", "length", "temperature", "seed", "top_k", Interventions.field])
        interventions = try Interventions(fields)
        guard case let .string(prompt)? = fields["prompt"], !prompt.isEmpty else {
            throw PeepholeError.invalidInput(field: "prompt", message: "expected a non-empty string, got \(fields["prompt"]?.typeName ?? "nothing")")
        }
        let limits = decoder.requestLimits
        options = Generation.Options(prompt: prompt, seed: UInt64.random(in: 0...UInt64(Int32.max)))
        options.length = try fields.integer("length", in: 0...Double(limits.maxGenerate)) ?? options.length
        options.topK = try fields.integer("top_k", in: 0...1e6) ?? 0
        if let seed = try fields.integer("seed", in: 0...9_007_199_254_740_991) { options.seed = UInt64(seed) }
        switch fields["temperature"] {
        case nil: break
        case let .number(value)? where value >= 0 && value <= 100: options.temperature = Float(value)
        case let other?: throw PeepholeError.invalidInput(field: "temperature", message: "expected a number in 0...100, got \(other.typeName)")
        }
        guard prompt.unicodeScalars.count <= limits.maxSteps else {
            throw PeepholeError.invalidInput(field: "prompt", message: "\(prompt.unicodeScalars.count) characters exceed the limit of \(limits.maxSteps) steps")
        }
    }
}

/// The answer to `generate`: `{"model", "version", "prompt", "text", "seed"}`.
public struct GenerateResponse: Encodable, Sendable {
    /// The model's name.
    var model: String
    /// The version that ran.
    var version: Int
    /// The prompt continued.
    var prompt: String
    /// The generated text, after the prompt.
    var text: String
    /// The seed used.
    var seed: Int
}
