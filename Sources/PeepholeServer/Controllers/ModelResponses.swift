import PeepholeCore

/// `GET /models`: every model, its versions, and which one is the default.
struct ModelListResponse: Encodable {
    /// The default model's name, or null when there is none.
    var defaultModel: String?
    /// The models by name.
    var models: [ModelListEntry]

    enum CodingKeys: String, CodingKey { case defaultModel = "default_model", models }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(defaultModel, forKey: .defaultModel)
        try container.encode(models, forKey: .models)
    }
}

/// One model in `GET /models`.
struct ModelListEntry: Encodable {
    /// The model's name.
    var name: String
    /// Whether `/predict` without a model name uses it.
    var isDefault: Bool
    /// The version served when none is named: the newest that loaded.
    var servedVersion: Int?
    /// Every stored version, oldest first.
    var versions: [VersionListEntry]

    enum CodingKeys: String, CodingKey { case name, isDefault = "default", servedVersion = "served_version", versions }

    init(_ entry: ModelEntry, isDefault: Bool) {
        name = entry.name
        self.isDefault = isDefault
        servedVersion = entry.newestLoaded
        versions = entry.infos.map { info in
            VersionListEntry(version: info.version, importedAt: info.importedAt, sourceFile: info.sourceFile,
                             parameterCount: info.parameterCount,
                             status: entry.loaded[info.version] != nil ? "ready" : "damaged",
                             error: entry.damaged[info.version]?.description)
        }
    }
}

/// One version in `GET /models`.
struct VersionListEntry: Encodable {
    /// The version number.
    var version: Int
    /// When it was imported (ISO 8601, UTC).
    var importedAt: String
    /// The imported file's name.
    var sourceFile: String
    /// The total number of weights.
    var parameterCount: Int
    /// `ready`, or `damaged` when it failed to load.
    var status: String
    /// Why it failed to load.
    var error: String?

    enum CodingKeys: String, CodingKey {
        case version, importedAt = "imported_at", sourceFile = "source_file", parameterCount = "parameter_count", status, error
    }
}

/// `GET /models/{model}` and `GET /models/{model}/versions/{version}`: one version in full.
struct VersionResponse: Encodable {
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

    enum CodingKeys: String, CodingKey {
        case model, version, importedAt = "imported_at", sourceFile = "source_file", sourceSHA256 = "source_sha256", format
        case kerasVersion = "keras_version", inputShape = "input_shape", inputDType = "input_dtype", outputShape = "output_shape"
        case vocabulary, parameterCount = "parameter_count", layers
    }

    /// Describes `info`.
    init(_ info: VersionInfo) {
        model = info.model
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
        layers = info.layers.map(LayerResponse.init)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(version, forKey: .version)
        try container.encode(importedAt, forKey: .importedAt)
        try container.encode(sourceFile, forKey: .sourceFile)
        try container.encode(sourceSHA256, forKey: .sourceSHA256)
        try container.encode(format, forKey: .format)
        try container.encode(kerasVersion, forKey: .kerasVersion)
        try container.encode(inputShape, forKey: .inputShape)
        try container.encode(inputDType, forKey: .inputDType)
        try container.encode(outputShape, forKey: .outputShape)
        try container.encode(vocabulary, forKey: .vocabulary)
        try container.encode(parameterCount, forKey: .parameterCount)
        try container.encode(layers, forKey: .layers)
    }
}

/// `GET /layers` and `GET /models/{model}/layers`: the layer table, like `model.summary()`.
struct LayersResponse: Encodable {
    /// The model's name.
    var model: String
    /// The version described.
    var version: Int
    /// The layers in order.
    var layers: [LayerResponse]
    /// The total number of weights.
    var parameterCount: Int

    enum CodingKeys: String, CodingKey { case model, version, layers, parameterCount = "parameter_count" }

    /// The layers of `info`.
    init(_ info: VersionInfo) {
        model = info.model
        version = info.version
        layers = info.layers.map(LayerResponse.init)
        parameterCount = info.parameterCount
    }
}

/// One layer: name, Keras class, output shape (batch axis null), weight count.
struct LayerResponse: Encodable {
    /// The Keras layer name, as `/layers/{layer}/output` takes it.
    var name: String
    /// The Keras class.
    var className: String
    /// The output shape, batch axis null.
    var outputShape: [Int?]
    /// The number of weights.
    var parameterCount: Int

    enum CodingKeys: String, CodingKey { case name, className = "class_name", outputShape = "output_shape", parameterCount = "parameter_count" }

    init(_ info: LayerInfo) {
        name = info.name
        className = info.className
        outputShape = info.outputShape
        parameterCount = info.parameterCount
    }
}
