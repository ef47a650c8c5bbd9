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

    /// Checks `input` against the batch and step bounds, naming `field` when it is over one.
    public func check(_ input: Tensor, field: String = "inputs") throws {
        if input.shape[0] > maxBatch {
            throw PeepholeError.invalidInput(field: field, message: "batch of \(input.shape[0]) exceeds the limit of \(maxBatch)")
        }
        if input.shape.count >= 2, input.shape[1] > maxSteps {
            throw PeepholeError.invalidInput(field: field, message: "\(input.shape[1]) timesteps exceed the limit of \(maxSteps)")
        }
    }

    /// Checks texts against the batch and step bounds before they are encoded (which allocates a
    /// row per character), naming `field` when they are over one.
    public func check(texts: [String], field: String) throws {
        if texts.count > maxBatch {
            throw PeepholeError.invalidInput(field: field, message: "batch of \(texts.count) exceeds the limit of \(maxBatch)")
        }
        if let long = texts.first(where: { $0.unicodeScalars.count > maxSteps }) {
            throw PeepholeError.invalidInput(field: field, message: "\(long.unicodeScalars.count) characters exceed the limit of \(maxSteps) steps")
        }
    }

    /// `input` checked against these bounds and `model`'s network.
    public func checked(_ input: Tensor, model: LoadedModel) throws -> Tensor {
        try check(input)
        try model.network.validate(input)
        return input
    }
}
