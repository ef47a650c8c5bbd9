import PeepholeCore

// Keys are written in sorted order, as the metadata routes have always answered.

/// `GET /models`: every model, its versions, and which one is the default.
public struct ModelListResponse: Encodable, Sendable {
    /// The default model's name, or null when there is none.
    var defaultModel: String?
    /// The models by name.
    var models: [ModelListEntry]

    enum CodingKeys: String, CodingKey { case defaultModel = "default_model", models }

    /// Lists `models` (sorted by name), `defaultModel` being the default.
    public init(defaultModel: String?, models: [ModelListEntry]) {
        self.defaultModel = defaultModel
        self.models = models
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(defaultModel, forKey: .defaultModel)
        try container.encode(models, forKey: .models)
    }
}

/// One model in `GET /models`.
public struct ModelListEntry: Encodable, Sendable {
    /// Whether `/predict` without a model name uses it.
    var isDefault: Bool
    /// The model's name.
    var name: String
    /// The version served when none is named: the newest that loaded.
    var servedVersion: Int?
    /// Every stored version, oldest first.
    var versions: [VersionListEntry]

    enum CodingKeys: String, CodingKey { case isDefault = "default", name, servedVersion = "served_version", versions }

    /// Model `name`: its stored versions (oldest first), each with the error it failed to load
    /// with, if it did.
    public init(name: String, isDefault: Bool, servedVersion: Int?, versions: [(info: VersionInfo, damage: PeepholeError?)]) {
        self.name = name
        self.isDefault = isDefault
        self.servedVersion = servedVersion
        self.versions = versions.map { info, damage in
            VersionListEntry(error: damage?.description, importedAt: info.importedAt, parameterCount: info.parameterCount,
                             sourceFile: info.sourceFile, status: damage == nil ? "ready" : "damaged", version: info.version)
        }
    }
}

/// One version in `GET /models`.
struct VersionListEntry: Encodable, Sendable {
    /// Why it failed to load.
    var error: String?
    /// When it was imported (ISO 8601, UTC).
    var importedAt: String
    /// The total number of weights.
    var parameterCount: Int
    /// The imported file's name.
    var sourceFile: String
    /// `ready`, or `damaged` when it failed to load.
    var status: String
    /// The version number.
    var version: Int

    enum CodingKeys: String, CodingKey {
        case error, importedAt = "imported_at", parameterCount = "parameter_count", sourceFile = "source_file", status, version
    }
}

/// `GET /models/{model}` and `GET /models/{model}/versions/{version}`: one version in full.
public struct VersionResponse: Encodable, Sendable {
    /// The model's name.
    var model: String
    /// The version number.
    var version: Int
    /// When it was imported (ISO 8601, UTC).
    var importedAt: String
    /// The imported file's name.
    var sourceFile: String
    /// SHA-256 of the imported file.
    var sourceSHA256: String
    /// `keras` or `h5`.
    var format: String
    /// The Keras version that wrote the file.
    var kerasVersion: String
    /// The input shape, batch axis null.
    var inputShape: [Int?]
    /// `float32` (one-hot or features) or `int32` (token ids for an Embedding).
    var inputDType: String
    /// The model's output shape, batch axis null.
    var outputShape: [Int?]
    /// The tokens `{"text": [...]}` is encoded with, in index order; null without one.
    var vocabulary: [String]?
    /// The total number of weights.
    var parameterCount: Int
    /// The layers in order.
    var layers: [LayerResponse]
    /// Every input: name (the key of named `inputs`), shape (batch axis null) and dtype.
    var inputs: [InputEntry]
    /// Every output: name (the key of `outputs` for a model with several) and shape.
    var outputs: [OutputEntry]

    struct InputEntry: Encodable, Sendable { var dtype: String; var name: String; var shape: [Int?] }
    struct OutputEntry: Encodable, Sendable { var name: String; var shape: [Int?] }

    enum CodingKeys: String, CodingKey {
        case model, version, importedAt = "imported_at", sourceFile = "source_file", sourceSHA256 = "source_sha256", format
        case kerasVersion = "keras_version", inputShape = "input_shape", inputDType = "input_dtype", outputShape = "output_shape", inputs, outputs
        case vocabulary, parameterCount = "parameter_count", layers
    }

    /// Describes `model`.
    public init(_ model: LoadedModel) {
        let info = model.info
        self.model = info.model
        version = info.version
        importedAt = info.importedAt
        sourceFile = info.sourceFile
        sourceSHA256 = info.sourceSHA256
        format = info.format
        kerasVersion = info.kerasVersion
        inputShape = info.inputShape
        inputDType = info.inputDType.rawValue
        outputShape = info.outputShape
        vocabulary = info.vocabulary
        parameterCount = info.parameterCount
        layers = LayerResponse.all(model)
        inputs = info.inputs.map { InputEntry(dtype: $0.dtype.rawValue, name: $0.name, shape: $0.shape) }
        outputs = info.outputs.map { OutputEntry(name: $0.name, shape: $0.shape) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(importedAt, forKey: .importedAt)
        try container.encode(inputDType, forKey: .inputDType)
        try container.encode(inputShape, forKey: .inputShape)
        try container.encode(inputs, forKey: .inputs)
        try container.encode(kerasVersion, forKey: .kerasVersion)
        try container.encode(layers, forKey: .layers)
        try container.encode(model, forKey: .model)
        try container.encode(outputShape, forKey: .outputShape)
        try container.encode(outputs, forKey: .outputs)
        try container.encode(parameterCount, forKey: .parameterCount)
        try container.encode(sourceFile, forKey: .sourceFile)
        try container.encode(sourceSHA256, forKey: .sourceSHA256)
        try container.encode(version, forKey: .version)
        try container.encode(vocabulary, forKey: .vocabulary)
    }
}

/// `GET /layers` and `GET /models/{model}/layers`: the layer table, like `model.summary()`.
public struct LayersResponse: Encodable, Sendable {
    /// The version's layers in order.
    var layers: [LayerResponse]
    /// The model's name.
    var model: String
    /// The total number of weights.
    var parameterCount: Int
    /// The version described.
    var version: Int

    enum CodingKeys: String, CodingKey { case layers, model, parameterCount = "parameter_count", version }

    /// The layers of `model`.
    public init(_ model: LoadedModel) {
        let info = model.info
        self.model = info.model
        version = info.version
        layers = LayerResponse.all(model)
        parameterCount = info.parameterCount
    }
}

/// One layer: name, Keras class, output shape (batch axis null), weight count.
struct LayerResponse: Encodable, Sendable {
    /// The Keras class.
    var className: String
    /// The layers whose outputs this one reads, so that a client can draw the graph.
    var inbound: [String]
    /// The Keras layer name, as `/layers/{layer}/output` takes it.
    var name: String
    /// The output shape, batch axis null.
    var outputShape: [Int?]
    /// The number of weights.
    var parameterCount: Int

    enum CodingKeys: String, CodingKey { case className = "class_name", inbound, name, outputShape = "output_shape", parameterCount = "parameter_count" }

    /// Every layer of `model`, in order, with the layers it reads.
    static func all(_ model: LoadedModel) -> [LayerResponse] {
        let network = model.network
        return model.info.layers.map { info in
            let index = network.layerIndex(named: info.name)
            return LayerResponse(info, inbound: index.map { network.inboundLayers(of: $0).map { network.layers[$0].name } } ?? [])
        }
    }

    init(_ info: LayerInfo, inbound: [String]) {
        self.inbound = inbound
        name = info.name
        className = info.className
        outputShape = info.outputShape
        parameterCount = info.parameterCount
    }
}
