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

/// A Keras model's architecture: its layers and how they are wired (a chain for a Sequential model).
public struct KerasArchitecture: Sendable {
    /// The first input's shape without the batch axis; nil for an axis of any size.
    public var inputShape: [Int?] { graph.inputs[0].shape }
    /// The first input's element type.
    public var inputDType: InputDType { graph.inputs[0].dtype }
    /// The layers in the configuration's order, InputLayers and mask operations excluded.
    public var layers: [KerasLayer]
    /// The inputs, outputs and calls.
    public var graph: KerasGraph

    /// A chain: one input through `layers` in turn.
    public init(inputShape: [Int?], inputDType: InputDType, layers: [KerasLayer]) {
        self.layers = layers
        self.graph = .chain(input: GraphInput(name: "input", shape: inputShape, dtype: inputDType), layerNames: layers.map(\.name))
    }

    /// `layers` wired by `graph`.
    public init(layers: [KerasLayer], graph: KerasGraph) {
        precondition(graph.calls.count == layers.count, "one call per layer")
        self.layers = layers
        self.graph = graph
    }

    /// Parses a model configuration (`config.json` of a `.keras`, `model_config` of an `.h5`).
    public static func parse(modelConfig: [String: Any], kerasMajor: Int) throws -> KerasArchitecture {
        var architecture = try KerasConfigReader(modelConfig: modelConfig, kerasMajor: kerasMajor).architecture()
        let shapes = try architecture.allOutputShapes()
        for index in architecture.graph.outputs.indices {
            architecture.graph.outputs[index].shape = switch architecture.graph.outputs[index].source {
            case let .layer(layer, output): shapes[layer][output]
            case let .input(input): architecture.graph.inputs[input].shape
            case .operation: []
            }
        }
        return architecture
    }

    /// The shapes of every output of every layer (without batch axis), checking that the graph fits.
    public func allOutputShapes() throws -> [[[Int?]]] {
        var shapes = [[[Int?]]](repeating: [], count: layers.count)
        func shape(_ source: TensorSource) -> [Int?] {
            switch source {
            case let .input(index): graph.inputs[index].shape
            case let .layer(index, output): shapes[index][output]
            case .operation: []
            }
        }
        for index in try topologicalOrder() {
            let call = graph.calls[index], layer = layers[index]
            shapes[index] = try layer.kind.outputShapes(layer: layer.name, inputs: call.inputs.map(shape))
            if let directions = layer.kind.recurrentDirections, !call.initialState.isEmpty {
                let expected = directions.flatMap { direction in direction.stateNames.map { _ in [Int?]([direction.units]) } }
                guard call.initialState.map(shape) == expected else {
                    throw PeepholeError.unsupported(layer: layer.name, detail: "its initial_state has shapes \(call.initialState.map { Network.describe([nil] + shape($0)) }), expected \(expected.map { Network.describe([nil] + $0) })")
                }
            }
        }
        return shapes
    }

    /// The shape of each layer's first output (without batch axis).
    public func outputShapes() throws -> [[Int?]] {
        try allOutputShapes().map { $0[0] }
    }

    /// The feature width of each layer's first input: what its weights' shapes depend on.
    public func inputWidths() throws -> [Int] {
        let outputs = try allOutputShapes()
        return try layers.indices.map { index in
            if case .embedding = layers[index].kind { return 1 }
            let shape: [Int?] = switch graph.calls[index].inputs[0] {
            case let .input(input): graph.inputs[input].shape
            case let .layer(layer, output): outputs[layer][output]
            case .operation: []
            }
            guard let width = shape.last ?? nil else {
                throw PeepholeError.unsupported(layer: layers[index].name, detail: "its input's last axis has no fixed size")
            }
            return width
        }
    }

    /// The layer indices in an order where every layer comes after the layers it reads.
    public func topologicalOrder() throws -> [Int] {
        var order: [Int] = [], state = [Int](repeating: 0, count: layers.count)  // 0 new, 1 visiting, 2 done
        func visit(_ index: Int) throws {
            if state[index] == 2 { return }
            guard state[index] == 0 else {
                throw PeepholeError.unsupported(layer: layers[index].name, detail: "the graph has a cycle through this layer")
            }
            state[index] = 1
            for source in KerasGraph.dependencies(graph.calls[index]) {
                switch source {
                case let .layer(layer, _): try visit(layer)
                case let .operation(operation): try visitOperation(operation)
                case .input: break
                }
            }
            state[index] = 2
            order.append(index)
        }
        func visitOperation(_ index: Int) throws {
            if case let .layer(layer, _) = graph.operations[index].input { try visit(layer) }
            if case let .operation(operation) = graph.operations[index].input, operation != index { try visitOperation(operation) }
        }
        for index in layers.indices { try visit(index) }
        return order
    }
}
