import Foundation
import ZIPFoundation

/// A named weight array of one layer, in Peephole's canonical naming (`kernel`,
/// `forward/recurrent_kernel`, `embeddings`, …).
public struct NamedTensor: Sendable {
    /// The canonical weight name (see `LayerKind.expectedWeights`).
    public var name: String
    /// The values and their shape.
    public var tensor: Tensor

    /// A weight called `name`.
    public init(name: String, tensor: Tensor) {
        self.name = name
        self.tensor = tensor
    }
}

/// A Keras model file read into memory: its architecture and every layer's weights.
public struct KerasModelFile: Sendable {
    /// The file format the model came in.
    public enum Format: String, Sendable {
        /// Keras 3 archive: `config.json`, `metadata.json`, `model.weights.h5`.
        case keras
        /// Legacy HDF5 file (Keras 2 / tf.keras, or Keras 3's legacy saver).
        case h5
    }

    /// The file's name (without directory).
    public var sourceFile: String
    /// SHA-256 of the file's bytes, lowercase hex.
    public var sha256: String
    /// The Keras version that wrote the file, e.g. "3.15.1" or "2.21.0".
    public var kerasVersion: String
    /// `.keras` or `.h5`.
    public var format: Format
    /// The layers and input.
    public var architecture: KerasArchitecture
    /// Each layer's weights, in the order of `architecture.layers`.
    public var weights: [[NamedTensor]]

    /// A model built in code (the benchmark's random-weight shapes), as a file of `architecture`
    /// and `weights` would read, checked the same way: `sourceFile` names it and its digest covers
    /// the weights.
    public init(madeInCode architecture: KerasArchitecture, weights: [[NamedTensor]], sourceFile: String) throws {
        var bytes = Data()
        for tensor in weights.joined() {
            bytes.append(Data(tensor.name.utf8))
            tensor.tensor.data.withUnsafeBytes { bytes.append(contentsOf: $0) }
        }
        try self.init(sourceFile: sourceFile, sha256: TensorCoding.sha256(bytes), kerasVersion: "3", format: .keras,
                      architecture: architecture, rawWeights: weights)
    }

    /// Reads a `.keras` or `.h5` file, checking every weight against its layer's configuration.
    public static func read(path: String) throws -> KerasModelFile {
        let url = URL(fileURLWithPath: path)
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch {
            throw PeepholeError.unreadableFile(path: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        let digest = TensorCoding.sha256(bytes)
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return try readArchive(url: url, sha256: digest)
        }
        if bytes.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try readLegacyH5(path: path, sha256: digest)
        }
        throw PeepholeError.unreadableFile(path: path, reason: "neither a .keras archive (zip) nor a legacy .h5 (HDF5) file")
    }

    // MARK: .keras

    private static func readArchive(url: URL, sha256: String) throws -> KerasModelFile {
        let path = url.path
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw PeepholeError.unreadableFile(path: path, reason: "not a readable zip archive")
        }
        func entry(_ name: String) throws -> Data {
            guard let entry = archive[name] else {
                throw PeepholeError.unreadableFile(path: path, reason: "the archive has no \(name)")
            }
            var data = Data()
            do {
                _ = try archive.extract(entry, skipCRC32: false) { data.append($0) }
            } catch {
                throw PeepholeError.unreadableFile(path: path, reason: "\(name) is damaged in the archive")
            }
            return data
        }
        let metadata = try jsonObject(entry("metadata.json"), path: path, what: "metadata.json")
        let kerasVersion = metadata["keras_version"] as? String ?? "3"
        let config = try jsonObject(entry("config.json"), path: path, what: "config.json")
        let architecture = try KerasArchitecture.parse(modelConfig: config, kerasMajor: major(kerasVersion))

        let weightsFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("peephole-\(UUID().uuidString).weights.h5")
        try entry("model.weights.h5").write(to: weightsFile)
        defer { try? FileManager.default.removeItem(at: weightsFile) }
        let h5 = try HDF5File(path: weightsFile.path)
        let layerObjects = (config["config"] as? [String: Any])?["layers"] as? [[String: Any]] ?? []
        let paths = archivePaths(layerObjects: layerObjects)
        let weights = try architecture.layers.map { layer in
            try archiveArrays(h5, base: "layers/\(paths[layer.name] ?? layer.name)", kind: layer.kind)
        }
        return try KerasModelFile(
            sourceFile: url.lastPathComponent, sha256: sha256, kerasVersion: kerasVersion, format: .keras,
            architecture: architecture, rawWeights: weights)
    }

    /// Where Keras 3 saves each layer in `model.weights.h5`: under the snake-cased class name,
    /// numbered `_1`, `_2`, … for later layers of the same class, not under the layer's name
    /// (Keras `saving_lib._save_container_state`).
    static func archivePaths(layerObjects: [[String: Any]]) -> [String: String] {
        var used: [String: Int] = [:]
        var paths: [String: String] = [:]
        for object in layerObjects {
            let className = object["class_name"] as? String ?? ""
            let config = object["config"] as? [String: Any] ?? [:]
            let base = snakeCase(className)
            let path: String
            if let count = used[base] {
                used[base] = count + 1
                path = "\(base)_\(count + 1)"
            } else {
                used[base] = 0
                path = base
            }
            if let name = config["name"] as? String { paths[name] = path }
        }
        return paths
    }

    /// Keras' `naming.to_snake_case`: "TimeDistributed" → "time_distributed", "LSTM" → "lstm".
    static func snakeCase(_ name: String) -> String {
        var text = name.filter { $0.isLetter || $0.isNumber || $0 == "_" }
        text = text.replacingOccurrences(of: "(.)([A-Z][a-z]+)", with: "$1_$2", options: .regularExpression)
        text = text.replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression)
        return text.lowercased()
    }

    /// A layer's arrays in a Keras 3 weights file, in the order Keras saved them.
    private static func archiveArrays(_ h5: HDF5File, base: String, kind: LayerKind) throws -> [NamedTensor] {
        let groups: [String] = switch kind {
        case .lstm, .gru, .simpleRNN: ["\(base)/cell/vars"]
        case .bidirectional, .bidirectionalRNN: ["\(base)/forward_layer/cell/vars", "\(base)/backward_layer/cell/vars"]
        case .dense(_, _, _, true): ["\(base)/layer/vars"]
        default: ["\(base)/vars"]
        }
        var arrays: [NamedTensor] = []
        for group in groups where h5.exists(group) {
            let indices = try h5.children(of: group).compactMap(Int.init).sorted()
            for index in indices {
                let dataset = try h5.dataset("\(group)/\(index)")
                arrays.append(NamedTensor(name: "\(group)/\(index)", tensor: Tensor(shape: dataset.shape, data: dataset.values)))
            }
        }
        return arrays
    }

    // MARK: .h5

    private static func readLegacyH5(path: String, sha256: String) throws -> KerasModelFile {
        let h5 = try HDF5File(path: path)
        guard let configText = try h5.stringAttribute("model_config")?.first else {
            throw PeepholeError.unreadableFile(path: path, reason: "no model_config attribute: the file holds weights only (save the whole model)")
        }
        let kerasVersion = try h5.stringAttribute("keras_version")?.first ?? "2"
        let config = try jsonObject(Data(configText.utf8), path: path, what: "model_config")
        let architecture = try KerasArchitecture.parse(modelConfig: config, kerasMajor: major(kerasVersion))
        let root = h5.exists("model_weights") ? "model_weights" : ""
        var weights: [[NamedTensor]] = []
        for layer in architecture.layers {
            let group = root.isEmpty ? layer.name : "\(root)/\(layer.name)"
            let names = h5.exists(group) ? try h5.stringAttribute("weight_names", of: group) ?? [] : []
            weights.append(try names.map { name in
                let dataset = try h5.dataset("\(group)/\(name)")
                return NamedTensor(name: name, tensor: Tensor(shape: dataset.shape, data: dataset.values))
            })
        }
        return try KerasModelFile(
            sourceFile: URL(fileURLWithPath: path).lastPathComponent, sha256: sha256, kerasVersion: kerasVersion,
            format: .h5, architecture: architecture, rawWeights: weights)
    }

    // MARK: common

    /// Renames each layer's weights, listed in Keras' order, to the canonical names and checks
    /// their count and shapes against the layer's configuration.
    private init(sourceFile: String, sha256: String, kerasVersion: String, format: Format,
                 architecture: KerasArchitecture, rawWeights: [[NamedTensor]]) throws {
        let widths = try architecture.inputWidths()
        var weights: [[NamedTensor]] = []
        for (index, layer) in architecture.layers.enumerated() {
            let expected = layer.kind.expectedWeights(inputWidth: widths[index])
            let found = rawWeights[index]
            guard found.count >= expected.count else {
                throw PeepholeError.missingWeights(layer: layer.name, weight: expected[found.count].name)
            }
            guard found.count == expected.count else {
                throw PeepholeError.unsupported(layer: layer.name, detail: "the file holds \(found.count) weights, the configuration implies \(expected.count)")
            }
            weights.append(try zip(expected, found).map { want, have in
                guard want.shape == have.tensor.shape else {
                    throw PeepholeError.weightShape(layer: layer.name, weight: want.name, expected: want.shape, got: have.tensor.shape)
                }
                return NamedTensor(name: want.name, tensor: have.tensor)
            })
        }
        self.sourceFile = sourceFile
        self.sha256 = sha256
        self.kerasVersion = kerasVersion
        self.format = format
        self.architecture = architecture
        self.weights = weights
    }

    private static func jsonObject(_ data: Data, path: String, what: String) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PeepholeError.unreadableFile(path: path, reason: "\(what) is not a JSON object")
        }
        return object
    }

    /// The major version of a Keras version string ("3.15.1" → 3).
    static func major(_ version: String) -> Int {
        Int(version.split(separator: ".").first ?? "") ?? 3
    }
}
