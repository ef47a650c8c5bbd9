import PeepholeCore

/// `POST /sessions/{id}/step`: a chunk of input, and optionally a `layer` to report on.
public struct SessionStepRequest: PeepholeRequestBody {
    /// The chunk to run.
    public var input: InputBody
    /// `layer`: the layer whose output and internals the step also returns.
    var layer: String?
    /// What to return of that layer besides its output.
    var options: LayerOptions
    /// States clamped during the step, its steps counted in this chunk.
    var interventions: Interventions

    public static func maxDepth(_ limits: RequestLimits) -> Int { limits.maxDepth + 2 }

    public init(from decoder: any Decoder) throws {
        let fields = try JSONFields(from: decoder, accepted: LayerOptions.fields.union(["inputs", "text", "layer", Interventions.field]))
        input = try InputBody(fields)
        interventions = try Interventions(fields)
        options = try LayerOptions(fields)
        layer = try fields.string("layer", expected: "a layer name")
    }
}

/// `PUT /sessions/{id}/state`: `{"<layer>": {"h": …, "c": …}, …}` (per direction for a
/// Bidirectional layer); what is not given keeps its value.
public struct SessionStatesRequest: PeepholeRequestBody {
    /// The states given, by layer name, as sent: checked against the session's model.
    var layers: [String: JSONValue]

    public static func maxDepth(_ limits: RequestLimits) -> Int { 8 }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(JSONValue.self)
        guard case let .object(layers) = value else {
            throw PeepholeError.invalidInput(field: "body", message: #"expected {"<recurrent layer>": {"h": [...], "c": [...]}}"#)
        }
        self.layers = layers
    }

    /// The batch size the states give: that of the first array, by layer name.
    func batch() throws -> Int {
        func rows(_ value: JSONValue) -> Int? {
            switch value {
            case .array, .numbers: return value.elements!.count
            case let .object(fields):
                return fields.keys.sorted().lazy.compactMap { rows(fields[$0]!) }.first { $0 > 0 }
            default: return nil
            }
        }
        guard let batch = rows(.object(layers)) else {
            throw PeepholeError.invalidInput(field: "body", message: "no state array to take the batch size from")
        }
        return batch
    }
}

/// `201` to `POST …/sessions`: `{"session", "model", "version", "expires_in"}`.
public struct SessionOpenedResponse: Encodable, Sendable {
    var session: String
    var model: String
    var version: Int
    var expiresIn: Int

    enum CodingKeys: String, CodingKey { case session, model, version, expiresIn = "expires_in" }
}

/// A session step's answer: `{"session", "model", "version", "step", "outputs"}`, and the
/// report of the layer asked for.
public struct SessionStepResponse: Encodable, Sendable {
    var session: String
    var model: String
    var version: Int
    var step: Int
    var outputs: OutputsJSON
    var layer: LayerReport?

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(session, forKey: JSONKey("session"))
        try container.encode(model, forKey: JSONKey("model"))
        try container.encode(version, forKey: JSONKey("version"))
        try container.encode(step, forKey: JSONKey("step"))
        try container.encode(outputs, forKey: JSONKey("outputs"))
        try layer?.encode(into: &container)
    }
}

/// `GET /sessions/{id}`: `{"session", "model", "version", "batch", "steps", "states"}`, the
/// states of every layer with state (zeros before the first step).
public struct SessionResponse: Encodable, Sendable {
    var session: String
    var model: String
    var version: Int
    var batch: Int?
    var steps: Int
    var states: [(layer: String, state: LayerStateJSON)]

    /// Describes `state`, a session on `model`.
    init(_ state: SessionState, model: LoadedModel) {
        session = state.id
        self.model = model.info.model
        version = model.info.version
        batch = state.batch
        steps = state.steps
        let network = model.network
        states = network.recurrentLayerIndices.map { index in
            (network.layers[index].name, LayerStateJSON(state.state(of: index, in: network), of: network.layers[index]))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(session, forKey: JSONKey("session"))
        try container.encode(model, forKey: JSONKey("model"))
        try container.encode(version, forKey: JSONKey("version"))
        if let batch { try container.encode(batch, forKey: JSONKey("batch")) } else { try container.encodeNil(forKey: JSONKey("batch")) }
        try container.encode(steps, forKey: JSONKey("steps"))
        var nested = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey("states"))
        for (layer, state) in states { try nested.encode(state, forKey: JSONKey(layer)) }
    }
}

/// `DELETE /sessions/{id}`: `{"session", "deleted": true}`.
public struct SessionClosedResponse: Encodable, Sendable {
    var session: String
    var deleted = true

    /// The answer for closing session `session`.
    public init(session: String) { self.session = session }
}
