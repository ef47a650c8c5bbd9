import PeepholeCore

/// `POST …/layers/{layer}/output`: the input, and what to return of the layer besides its output.
public struct LayerOutputRequest: PeepholeRequestBody {
    /// What to run the model on.
    public var input: InputBody
    /// `states`, `sequences`, `gates`, `preactivations`, `units`, `steps`.
    var options: LayerOptions
    /// `initial_state`: the state the layer starts from, checked against the layer.
    var initialState: JSONValue?
    /// States clamped during the pass.
    var interventions: Interventions

    public static func maxDepth(_ limits: RequestLimits) -> Int { limits.maxDepth + 2 }

    public init(from decoder: any Decoder) throws {
        let fields = try JSONFields(from: decoder, accepted: LayerOptions.fields.union(["inputs", "text", "initial_state", Interventions.field]))
        input = try InputBody(fields)
        interventions = try Interventions(fields)
        options = try LayerOptions(fields)
        initialState = fields["initial_state"]
    }

    /// Asks for the final states too (the CLI's `--states`).
    public mutating func askForStates() { options.states = true }
}

/// The answer to a layer-output request: `{"model", "version"}` and the layer's report.
public struct LayerOutputResponse: Encodable, Sendable {
    /// The model's name.
    var model: String
    /// The version that ran.
    var version: Int
    /// The layer's output and what else was asked.
    var layer: LayerReport

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(model, forKey: JSONKey("model"))
        try container.encode(version, forKey: JSONKey("version"))
        try layer.encode(into: &container)
    }
}
