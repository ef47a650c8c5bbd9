import Foundation

/// One layer as the store describes it: what `model.summary()` shows, plus Keras' config.
public struct LayerInfo: Sendable, Codable, Equatable {
    /// The Keras layer name.
    public var name: String
    /// The Keras class.
    public var className: String
    /// The output shape, batch axis first as `nil` (Keras' `None`).
    public var outputShape: [Int?]
    /// The number of weights.
    public var parameterCount: Int
}

/// One stored version of a model: everything but the weights.
public struct VersionInfo: Sendable, Codable, Equatable {
    /// The model's name.
    public var model: String
    /// The version number, 1 for the first import.
    public var version: Int
    /// When it was imported (ISO 8601, UTC).
    public var importedAt: String
    /// The imported file's name.
    public var sourceFile: String
    /// SHA-256 of the imported file.
    public var sourceSHA256: String
    /// `keras` or `h5`.
    public var format: String
    /// The Keras version that wrote the file.
    public var kerasVersion: String
    /// The input shape, batch axis first as `nil`.
    public var inputShape: [Int?]
    /// `float32` or `int32`.
    public var inputDType: InputDType
    /// The tokens of a character model, in index order.
    public var vocabulary: [String]?
    /// The layers in order.
    public var layers: [LayerInfo]
    /// The wiring of a model that is not a chain (several inputs or outputs, branches, merges,
    /// mask operations); nil for a chain of layers from one input to one output.
    public var graph: KerasGraph? = nil

    /// Every input of the model (for a chain, its one input, named `input`).
    public var inputs: [GraphInput] {
        graph?.inputs ?? [GraphInput(name: "input", shape: Array(inputShape.dropFirst()), dtype: inputDType)]
    }

    /// Stands in for a version whose description cannot be read, so listings still show it.
    public static func unreadable(model: String, version: Int) -> VersionInfo {
        VersionInfo(model: model, version: version, importedAt: "", sourceFile: "", sourceSHA256: "", format: "", kerasVersion: "",
                    inputShape: [nil], inputDType: .float32, vocabulary: nil, layers: [])
    }

    /// The total number of weights.
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }

    /// The output shape of the whole model (its first output's), batch axis first as `nil`.
    public var outputShape: [Int?] {
        guard let graph else { return layers.last?.outputShape ?? inputShape }
        return [nil] + graph.outputs[0].shape
    }

    /// Every output of the model with its shape (for a chain, its last layer's output).
    public var outputs: [GraphOutput] {
        graph?.outputs ?? [GraphOutput(name: layers.last?.name ?? "output", source: .layer(max(0, layers.count - 1), output: 0),
                                       shape: Array(outputShape.dropFirst()))]
    }

    /// The layer table printed by `peephole import` and `peephole models`, like `model.summary()`.
    public var summary: String {
        let rows = [("Layer (type)", "Output Shape", "Param #")]
            + layers.map { ("\($0.name) (\($0.className))", Network.describe($0.outputShape), Self.grouped($0.parameterCount)) }
        let first = rows.map(\.0.count).max()! + 2, second = rows.map(\.1.count).max()! + 2
        let width = first + second + rows.map(\.2.count).max()!
        func pad(_ text: String, _ size: Int) -> String { text + String(repeating: " ", count: max(0, size - text.count)) }
        var lines = ["Model \"\(model)\" version \(version): \(sourceFile) (\(format), Keras \(kerasVersion)), input \(Network.describe(inputShape)) \(inputDType.rawValue)"]
        lines.append(String(repeating: "━", count: width))
        for (index, row) in rows.enumerated() {
            lines.append(pad(row.0, first) + pad(row.1, second) + row.2)
            lines.append(String(repeating: index == 0 ? "━" : "─", count: width))
        }
        lines.removeLast()
        lines.append(String(repeating: "━", count: width))
        lines.append("Total params: \(Self.grouped(parameterCount))")
        if let vocabulary { lines.append("Vocabulary: \(vocabulary.count) tokens") }
        return lines.joined(separator: "\n")
    }

    private static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        return String(digits.enumerated().flatMap { index, digit in
            (index > 0 && (digits.count - index) % 3 == 0 ? [","] : []) + [digit]
        })
    }
}

/// A model and its versions.
public struct ModelSummary: Sendable, Codable, Equatable {
    /// The model's name.
    public var name: String
    /// Its versions, oldest first.
    public var versions: [VersionInfo]
}

/// A version loaded from the store, ready to run. A class: a request hands its model from the
/// route to the batcher and the pass, and a struct of this many arrays and strings cost a
/// reference count per field at each hand-off (1.0 µs of a V2 infer's server time under load).
public final class LoadedModel: Sendable {
    /// What the store says about it.
    public let info: VersionInfo
    /// The runnable network.
    public let network: Network
    /// Each one-character vocabulary entry's token id, worked out once for encoding text.
    let tokenIDs: [Unicode.Scalar: Int]
    /// The same for the 128 ASCII characters, by code (-1: not in the vocabulary): text that is
    /// all ASCII is encoded without hashing a character.
    let asciiTokenIDs: [Int]

    /// A model version as loaded: what the store says and the network built from it.
    public init(info: VersionInfo, network: Network) {
        self.info = info
        self.network = network
        var ids: [Unicode.Scalar: Int] = [:]
        for (id, token) in (info.vocabulary ?? []).enumerated() {
            let scalars = token.unicodeScalars
            if scalars.count == 1, ids[scalars.first!] == nil { ids[scalars.first!] = id }
        }
        tokenIDs = ids
        asciiTokenIDs = (0..<128).map { ids[Unicode.Scalar(UInt8($0))] ?? -1 }
    }
}
