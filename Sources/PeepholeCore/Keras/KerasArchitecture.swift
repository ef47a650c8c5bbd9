import Foundation

/// The element type a model's input takes: float features, or integer token ids for a model
/// that starts with an Embedding.
public enum InputDType: String, Codable, Sendable {
    case float32, int32
}

/// One layer of a Keras model as read from its configuration.
public struct KerasLayer: Sendable {
    /// The layer's name (`get_layer(name)`).
    public var name: String
    /// The Keras class (`LSTM`, `Dense`, …).
    public var className: String
    /// The layer's Keras `{"class_name", "config"}` object, serialised, as the store keeps it.
    public var configJSON: String
    /// What the layer computes.
    public var kind: LayerKind
}

/// A Keras model's architecture: a single chain of supported layers after one input.
public struct KerasArchitecture: Sendable {
    /// The input shape without the batch axis; nil for an axis of any size.
    public var inputShape: [Int?]
    /// Float features or integer token ids.
    public var inputDType: InputDType
    /// The layers in order, InputLayer excluded.
    public var layers: [KerasLayer]

    /// Parses a model configuration (`config.json` of a `.keras`, `model_config` of an `.h5`).
    public static func parse(modelConfig: [String: Any], kerasMajor: Int) throws -> KerasArchitecture {
        let className = modelConfig["class_name"] as? String ?? "?"
        guard let config = modelConfig["config"] as? [String: Any],
              var layerObjects = config["layers"] as? [[String: Any]] else {
            throw PeepholeError.unsupported(layer: className, detail: "model configuration has no layer list")
        }
        switch className {
        case "Sequential":
            break
        case "Functional", "Model":
            layerObjects = withoutMaskOperations(layerObjects)
            try requireSingleChain(layerObjects)
        default:
            throw PeepholeError.unsupported(layer: className, detail: "model class \(className) is not supported (Sequential or Functional)")
        }
        var inputShape: [Int?]?
        var inputDType: String?
        var layers: [KerasLayer] = []
        for object in layerObjects {
            guard let layerClass = object["class_name"] as? String, let layerConfig = object["config"] as? [String: Any] else {
                throw PeepholeError.unsupported(layer: className, detail: "a layer entry without class_name or config")
            }
            let name = layerConfig["name"] as? String ?? layerClass
            if layerClass == "InputLayer" {
                guard layers.isEmpty else {
                    throw PeepholeError.unsupported(layer: name, detail: "an InputLayer after the first layer")
                }
                inputShape = batchShape(layerConfig)
                inputDType = layerConfig["dtype"] as? String
                continue
            }
            if layers.isEmpty, inputShape == nil {
                inputShape = batchShape(layerConfig) ?? buildShape(object)
                inputDType = layerConfig["dtype"] as? String
            }
            let kind = try KerasLayerParser.parse(className: layerClass, config: layerConfig, kerasMajor: kerasMajor)
            let stored: [String: Any] = ["class_name": layerClass, "config": layerConfig]
            let json = try JSONSerialization.data(withJSONObject: stored, options: [.sortedKeys])
            layers.append(KerasLayer(name: name, className: layerClass, configJSON: String(decoding: json, as: UTF8.self), kind: kind))
        }
        guard let first = layers.first else {
            throw PeepholeError.unsupported(layer: className, detail: "the model has no layers")
        }
        guard let shape = inputShape else {
            throw PeepholeError.unsupported(layer: first.name, detail: "the model's input shape is not in its configuration (build the model before saving)")
        }
        let dtype: InputDType
        if case .embedding = first.kind {
            dtype = .int32
        } else {
            guard inputDType == nil || inputDType == "float32" else {
                throw PeepholeError.unsupported(layer: first.name, detail: "input dtype \(inputDType!) is only supported before an Embedding")
            }
            dtype = .float32
        }
        let architecture = KerasArchitecture(inputShape: shape, inputDType: dtype, layers: layers)
        _ = try architecture.outputShapes()
        return architecture
    }

    /// The output shape of each layer (without batch axis), checking that consecutive layers fit.
    public func outputShapes() throws -> [[Int?]] {
        var shape = inputShape
        return try layers.map { layer in
            shape = try layer.kind.outputShape(layer: layer.name, input: shape)
            return shape
        }
    }

    /// The feature width each layer receives: what its weights' shapes depend on.
    public func inputWidths() throws -> [Int] {
        let outputs = try outputShapes()
        return try layers.indices.map { index in
            let shape = index == 0 ? inputShape : outputs[index - 1]
            if case .embedding = layers[index].kind { return 1 }
            guard let width = shape.last ?? nil else {
                throw PeepholeError.unsupported(layer: layers[index].name, detail: "its input's last axis has no fixed size")
            }
            return width
        }
    }

    /// `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2) without the batch axis.
    private static func batchShape(_ config: [String: Any]) -> [Int?]? {
        let shape = (config["batch_shape"] ?? config["batch_input_shape"]) as? [Any]
        return shape.map { $0.dropFirst().map { ($0 as? NSNumber)?.intValue } }
    }

    private static func buildShape(_ object: [String: Any]) -> [Int?]? {
        let build = object["build_config"] as? [String: Any]
        let shape = build?["input_shape"] as? [Any]
        return shape.map { $0.dropFirst().map { ($0 as? NSNumber)?.intValue } }
    }

    /// Checks that every layer of a Functional model takes exactly the previous layer's output.
    private static func requireSingleChain(_ layers: [[String: Any]]) throws {
        for (index, object) in layers.enumerated() where index > 0 {
            let config = object["config"] as? [String: Any] ?? [:]
            let name = (config["name"] ?? object["name"]) as? String ?? "?"
            let previousConfig = layers[index - 1]["config"] as? [String: Any] ?? [:]
            let previous = (previousConfig["name"] ?? layers[index - 1]["name"]) as? String ?? "?"
            let sources = inboundLayerNames(object["inbound_nodes"])
            guard sources == [previous] else {
                throw PeepholeError.unsupported(
                    layer: name,
                    detail: "only models whose layers form a single chain are supported (this layer takes \(sources.isEmpty ? "no input" : sources.joined(separator: ", ")), expected \(previous))")
            }
        }
    }

    /// Keras 3 writes the mask a Masking layer computes, in a Functional model, as `NotEqual` and
    /// `Any` operation layers that feed only the `mask` arguments of later layers. They compute
    /// what Masking computes, so they are dropped here and the chain is checked without them.
    private static func withoutMaskOperations(_ layers: [[String: Any]]) -> [[String: Any]] {
        guard layers.contains(where: { $0["class_name"] as? String == "Masking" }) else { return layers }
        var kept = layers
        while true {
            let dataSources = Set(kept.flatMap { inboundLayerNames($0["inbound_nodes"]) })
            let next = kept.filter { object in
                let name = (object["config"] as? [String: Any])?["name"] as? String ?? ""
                let isMaskOperation = ["NotEqual", "Any"].contains(object["class_name"] as? String ?? "")
                return !isMaskOperation || dataSources.contains(name)
            }
            if next.count == kept.count { return kept }
            kept = next
        }
    }

    /// The layer names a Functional layer's inbound nodes take data from (the `mask` keyword
    /// arguments aside), in both Keras 3 (`{"args": [keras tensors], "kwargs"}`) and Keras 2
    /// (`[[name, node, tensor, kwargs]]`) form.
    private static func inboundLayerNames(_ nodes: Any?) -> [String] {
        var names: [String] = []
        func visit(_ value: Any) {
            if let dictionary = value as? [String: Any] {
                if let history = dictionary["keras_history"] as? [Any], let name = history.first as? String {
                    names.append(name)
                } else if let arguments = dictionary["args"] {
                    visit(arguments)
                } else {
                    dictionary.filter { $0.key != "kwargs" }.values.forEach(visit)
                }
            } else if let array = value as? [Any] {
                if array.count >= 3, let name = array[0] as? String, array[1] is NSNumber {
                    names.append(name)
                } else {
                    array.forEach(visit)
                }
            }
        }
        if let nodes { visit(nodes) }
        return names
    }
}
