import Foundation

/// Reads a Sequential or Functional model configuration into layers and their wiring.
///
/// Functional layers list their calls as `inbound_nodes`: Keras 3 writes
/// `{"args": [tensors], "kwargs": {"mask": tensor, "initial_state": [tensors]}}` with each tensor
/// `{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}}`; Keras 2
/// writes `[[layer, node, tensor, kwargs], …]`, an RNN's `initial_state` following its input.
struct KerasConfigReader {
    let modelClass: String
    let entries: [[String: Any]]
    let config: [String: Any]
    let kerasMajor: Int

    init(modelConfig: [String: Any], kerasMajor: Int) throws {
        modelClass = modelConfig["class_name"] as? String ?? "?"
        guard let config = modelConfig["config"] as? [String: Any], let entries = config["layers"] as? [[String: Any]] else {
            throw PeepholeError.unsupported(layer: modelClass, detail: "model configuration has no layer list")
        }
        self.config = config
        self.entries = entries
        self.kerasMajor = kerasMajor
    }

    /// A reference to a tensor by layer name: Keras' `[name, node_index, tensor_index]`.
    struct Reference {
        var layer: String
        var node: Int
        var tensor: Int
    }

    func architecture() throws -> KerasArchitecture {
        switch modelClass {
        case "Sequential": return try sequential()
        case "Functional", "Model": return try functional()
        default:
            throw PeepholeError.unsupported(layer: modelClass, detail: "model class \(modelClass) is not supported (Sequential or Functional)")
        }
    }

    private func sequential() throws -> KerasArchitecture {
        var input: GraphInput?
        var layers: [KerasLayer] = []
        for entry in entries {
            let (className, layerConfig, name) = try Self.identify(entry, model: modelClass)
            if className == "InputLayer" {
                guard layers.isEmpty else { throw PeepholeError.unsupported(layer: name, detail: "an InputLayer after the first layer") }
                // A Sequential model's one input is `input`, whatever its InputLayer is called.
                input = Self.input(name: "input", layerConfig)
                continue
            }
            if layers.isEmpty, input == nil, let shape = Self.batchShape(layerConfig) ?? Self.buildShape(entry) {
                input = GraphInput(name: "input", shape: shape, dtype: Self.dtype(layerConfig))
            }
            layers.append(try layer(entry))
        }
        guard let first = layers.first else { throw PeepholeError.unsupported(layer: modelClass, detail: "the model has no layers") }
        guard var input else {
            throw PeepholeError.unsupported(layer: first.name, detail: "the model's input shape is not in its configuration (build the model before saving)")
        }
        input.dtype = try Self.resolveDType(input, consumers: [first])
        return KerasArchitecture(layers: layers, graph: .chain(input: input, layerNames: layers.map(\.name)))
    }

    private func functional() throws -> KerasArchitecture {
        var declaredInputs: [String: GraphInput] = [:]
        var layers: [KerasLayer] = [], layerEntries: [[String: Any]] = []
        var operations: [(name: String, entry: [String: Any])] = []
        for entry in entries {
            let (className, layerConfig, name) = try Self.identify(entry, model: modelClass)
            if className == "InputLayer" {
                declaredInputs[name] = Self.input(name: name, layerConfig)
            } else if let module = entry["module"] as? String, module.hasPrefix("keras.src.ops") {
                operations.append((name, entry))
            } else if className == "Lambda" {
                throw PeepholeError.unsupported(layer: name, detail: "layer class Lambda is not supported: its Python code cannot be read")
            } else {
                layers.append(try layer(entry))
                layerEntries.append(entry)
            }
        }
        let inputNames = Self.references(config["input_layers"]).map(\.layer)
        let inputs = try inputNames.map { name in
            guard let input = declaredInputs[name] else { throw PeepholeError.unsupported(layer: name, detail: "a model input that is not an InputLayer") }
            return input
        }
        guard !inputs.isEmpty else { throw PeepholeError.unsupported(layer: modelClass, detail: "the model has no inputs") }
        let wiring = Wiring(inputs: inputNames, layers: layers.map(\.name), operations: operations)
        let calls = try zip(layers, layerEntries).map { layer, entry in try wiring.call(of: layer, entry: entry) }
        let outputs = try Self.references(config["output_layers"]).map { reference in
            GraphOutput(name: reference.layer, source: try wiring.source(reference, for: reference.layer))
        }
        var named = outputs
        for index in named.indices where named[..<index].contains(where: { $0.name == named[index].name }) {
            named[index].name += "_\(index)"
        }
        var graph = KerasGraph(inputs: inputs, outputs: named, calls: calls, operations: wiring.maskOperations)
        for index in graph.inputs.indices {
            let consumers = layers.indices.filter { graph.calls[$0].inputs.contains(.input(index)) }.map { layers[$0] }
            graph.inputs[index].dtype = try Self.resolveDType(graph.inputs[index], consumers: consumers)
        }
        if layers.isEmpty { throw PeepholeError.unsupported(layer: modelClass, detail: "the model has no layers") }
        return KerasArchitecture(layers: layers, graph: graph)
    }

    private func layer(_ entry: [String: Any]) throws -> KerasLayer {
        let (className, layerConfig, name) = try Self.identify(entry, model: modelClass)
        let kind = try KerasLayerParser.parse(className: className, config: layerConfig, kerasMajor: kerasMajor)
        let stored: [String: Any] = ["class_name": className, "config": layerConfig]
        let json = try JSONSerialization.data(withJSONObject: stored, options: [.sortedKeys])
        return KerasLayer(name: name, className: className, configJSON: String(decoding: json, as: UTF8.self), kind: kind)
    }

    static func identify(_ entry: [String: Any], model: String) throws -> (className: String, config: [String: Any], name: String) {
        guard let className = entry["class_name"] as? String, let config = entry["config"] as? [String: Any] else {
            throw PeepholeError.unsupported(layer: model, detail: "a layer entry without class_name or config")
        }
        return (className, config, (config["name"] ?? entry["name"]) as? String ?? className)
    }

    /// An input's element type: token ids when it feeds an Embedding, else float features.
    static func resolveDType(_ input: GraphInput, consumers: [KerasLayer]) throws -> InputDType {
        let embeddings = consumers.filter { if case .embedding = $0.kind { true } else { false } }
        if !embeddings.isEmpty {
            if let other = consumers.first(where: { layer in !embeddings.contains { $0.name == layer.name } }) {
                throw PeepholeError.unsupported(layer: other.name, detail: "input '\(input.name)' feeds both an Embedding and this \(other.className)")
            }
            return .int32
        }
        guard input.dtype == .float32 else {
            throw PeepholeError.unsupported(layer: consumers.first?.name ?? input.name, detail: "input dtype \(input.dtype == .int32 ? "int32" : "?") is only supported before an Embedding")
        }
        return .float32
    }

    static func input(name: String, _ config: [String: Any]) -> GraphInput {
        GraphInput(name: name, shape: batchShape(config) ?? [], dtype: dtype(config))
    }

    private static func dtype(_ config: [String: Any]) -> InputDType {
        let name = config["dtype"] as? String
        return name == nil || name == "float32" ? .float32 : .int32
    }

    /// `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2) without the batch axis.
    static func batchShape(_ config: [String: Any]) -> [Int?]? {
        let shape = (config["batch_shape"] ?? config["batch_input_shape"]) as? [Any]
        return shape.map { $0.dropFirst().map { ($0 as? NSNumber)?.intValue } }
    }

    private static func buildShape(_ object: [String: Any]) -> [Int?]? {
        let build = object["build_config"] as? [String: Any]
        let shape = build?["input_shape"] as? [Any]
        return shape.map { $0.dropFirst().map { ($0 as? NSNumber)?.intValue } }
    }

    /// `input_layers` / `output_layers`: `[[name, node, tensor], …]`, or one `[name, node, tensor]`.
    static func references(_ value: Any?) -> [Reference] {
        guard let list = value as? [Any] else { return [] }
        if let reference = reference(list) { return [reference] }
        return list.compactMap { ($0 as? [Any]).flatMap(reference) }
    }

    static func reference(_ list: [Any]) -> Reference? {
        guard list.count >= 3, let name = list[0] as? String, let node = list[1] as? NSNumber, let tensor = list[2] as? NSNumber,
              !(list[1] is String) else { return nil }
        return Reference(layer: name, node: node.intValue, tensor: tensor.intValue)
    }
}
