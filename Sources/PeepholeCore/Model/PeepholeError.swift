/// Everything that can go wrong in the core, each case naming the file, model, layer or field
/// at fault. The server maps these to HTTP statuses in one place; the CLI prints `description`.
public enum PeepholeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A model file that cannot be read as Keras: not a zip/HDF5 file, missing parts, bad JSON.
    case unreadableFile(path: String, reason: String)
    /// A layer class or option that Peephole does not compute.
    case unsupported(layer: String, detail: String)
    /// A weight the layer needs is not in the file or store.
    case missingWeights(layer: String, weight: String)
    /// A weight whose shape differs from the one its layer's configuration implies.
    case weightShape(layer: String, weight: String, expected: [Int], got: [Int])
    /// No model with this name in the store.
    case unknownModel(String)
    /// The model exists but not in this version.
    case unknownVersion(model: String, version: Int)
    /// No layer with this name in the model.
    case unknownLayer(model: String, layer: String)
    /// The store holds no model to use as default, or several without one configured.
    case noDefaultModel(String)
    /// A stored model version that fails its integrity checks (checksum, shapes, config).
    case damagedModel(model: String, version: Int, reason: String)
    /// A request field with the wrong type, shape or value.
    case invalidInput(field: String, message: String)
    /// An option that needs something the layer or model does not have (states of a Dense layer,
    /// text for a model without vocabulary).
    case notApplicable(field: String, message: String)
    /// The store file itself cannot be opened or written.
    case storeFailure(path: String, reason: String)

    /// A stable, machine-readable code for the error.
    public var code: String {
        switch self {
        case .unreadableFile: "unreadable_file"
        case .unsupported: "unsupported"
        case .missingWeights: "missing_weights"
        case .weightShape: "weight_shape"
        case .unknownModel: "unknown_model"
        case .unknownVersion: "unknown_version"
        case .unknownLayer: "unknown_layer"
        case .noDefaultModel: "no_default_model"
        case .damagedModel: "damaged_model"
        case .invalidInput: "invalid_input"
        case .notApplicable: "not_applicable"
        case .storeFailure: "store_failure"
        }
    }

    /// A one-line message for people.
    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): "\(path): \(reason)"
        case let .unsupported(layer, detail): "layer '\(layer)': \(detail)"
        case let .missingWeights(layer, weight): "layer '\(layer)': weight '\(weight)' is missing"
        case let .weightShape(layer, weight, expected, got):
            "layer '\(layer)': weight '\(weight)' has shape \(got), expected \(expected)"
        case let .unknownModel(name): "unknown model '\(name)'"
        case let .unknownVersion(model, version): "model '\(model)' has no version \(version)"
        case let .unknownLayer(model, layer): "model '\(model)' has no layer '\(layer)'"
        case let .noDefaultModel(reason): "no default model: \(reason)"
        case let .damagedModel(model, version, reason): "model '\(model)' version \(version) is damaged: \(reason)"
        case let .invalidInput(field, message): "\(field): \(message)"
        case let .notApplicable(field, message): "\(field): \(message)"
        case let .storeFailure(path, reason): "store \(path): \(reason)"
        }
    }
}
