/// The final state of a recurrent layer after a run: each direction's state tensors (forward
/// first), in its kind's `stateNames` order: LSTM `[h, c]`, GRU and SimpleRNN `[h]`, each
/// `[batch, units]`.
public struct LayerState: Sendable, Equatable {
    /// Each direction's states.
    public var directions: [[Tensor]]

    /// The state made of these directions' states.
    public init(directions: [[Tensor]]) {
        self.directions = directions
    }
}

/// What one forward pass produced.
public struct ForwardResult: Sendable {
    /// The requested layer's first output, or the model's first output.
    public var output: Tensor
    /// The model's outputs in order, when the whole model ran (empty after `run(through:)`).
    public var outputs: [Tensor] = []
    /// The first output of the layers asked for, by layer index.
    public var layerOutputs: [Int: Tensor]
    /// The final states of the recurrent layers asked for, by layer index.
    public var states: [Int: LayerState]
    /// The per-step records of the recurrent layers asked for, one per direction (forward first), by layer index.
    public var traces: [Int: [RecurrentTrace]] = [:]
    /// Every output of the layers asked for (a layer with `return_state` has several), by layer index.
    public var layerOutputTensors: [Int: [Tensor]] = [:]
}

/// One layer of a loaded network.
public struct NetworkLayer: Sendable {
    /// The Keras layer name.
    public let name: String
    /// The Keras class name.
    public let className: String
    /// What it computes.
    public let kind: LayerKind
    /// The output shape without the batch axis (nil for an axis of any size).
    public let outputShape: [Int?]
    /// The number of weights.
    public let parameterCount: Int
    /// The tensors it reads: inputs, initial states and mask.
    public let call: LayerCall
    let operation: Operation
    /// What `call` reads (its inputs, initial states and mask), listed once for the run loop.
    let reads: [TensorSource]
    /// `kind.recurrentDirections`, listed once for the run loop.
    let directions: [RecurrentKind]?
}

/// A loaded model: immutable and shareable between threads; every call allocates its own scratch.
public struct Network: Sendable {
    /// The first input's shape without the batch axis (nil for an axis of any size).
    public let inputShape: [Int?]
    /// The first input's element type: float features or token ids.
    public let inputDType: InputDType
    /// Every input, in the model's order.
    public let inputs: [GraphInput]
    /// Every output, in the model's order.
    public let outputs: [GraphOutput]
    /// The layers in the configuration's order.
    public let layers: [NetworkLayer]
    /// The number of steps every input must have: set when a Flatten or Reshape fixes the length.
    public let requiredSteps: Int?
    /// The mask operations of a Keras 3 Functional model.
    let operations: [MaskOperation]
    /// The layer indices in an order that computes every layer after what it reads.
    let order: [Int]
    /// What a run of the whole model computes and when it drops each tensor, worked out once.
    var wholeRun: (needed: [Bool], pendingReads: [Int?]) = ([], [])

    /// Builds a network from an architecture and each layer's weights in canonical naming.
    public init(architecture: KerasArchitecture, weights: [[NamedTensor]]) throws {
        precondition(weights.count == architecture.layers.count, "one weight list per layer")
        let shapes = try architecture.allOutputShapes()
        let widths = try architecture.inputWidths()
        let graph = architecture.graph
        var layers: [NetworkLayer] = []
        for (index, layer) in architecture.layers.enumerated() {
            let expected = layer.kind.expectedWeights(inputWidth: widths[index])
            var named: [String: [Float]] = [:]
            for want in expected {
                guard let have = weights[index].first(where: { $0.name == want.name }) else {
                    throw PeepholeError.missingWeights(layer: layer.name, weight: want.name)
                }
                guard have.tensor.shape == want.shape else {
                    throw PeepholeError.weightShape(layer: layer.name, weight: want.name, expected: want.shape, got: have.tensor.shape)
                }
                named[want.name] = have.tensor.data
            }
            let rank: Int = switch graph.calls[index].inputs[0] {
            case let .input(input): graph.inputs[input].shape.count + 1
            case let .layer(source, output): shapes[source][output].count + 1
            case .operation: 1
            }
            layers.append(NetworkLayer(
                name: layer.name, className: layer.className, kind: layer.kind, outputShape: shapes[index][0],
                parameterCount: expected.reduce(0) { $0 + $1.shape.reduce(1, *) }, call: graph.calls[index],
                operation: Operation(layer.kind, inputWidth: widths[index], inputRank: rank, weights: named),
                reads: KerasGraph.dependencies(graph.calls[index]), directions: layer.kind.recurrentDirections))
        }
        self.inputShape = architecture.inputShape
        self.inputDType = architecture.inputDType
        self.inputs = graph.inputs
        self.outputs = graph.outputs
        self.operations = graph.operations
        self.layers = layers
        self.order = try architecture.topologicalOrder()
        let fixesLength = architecture.layers.contains { if case .flatten = $0.kind { true } else if case .reshape = $0.kind { true } else { false } }
        self.requiredSteps = fixesLength && architecture.inputShape.count >= 1 ? architecture.inputShape[0] : nil
        let needed = self.needed(graph.outputs.map(\.source))
        self.wholeRun = (needed, Self.pendingReads(layers: layers, operations: graph.operations, needed: needed, kept: graph.outputs.map(\.source)))
    }

    /// The index of the layer called `name`.
    public func layerIndex(named name: String) -> Int? {
        layers.firstIndex { $0.name == name }
    }

    /// The index of the input called `name`. A one-input model's input also answers to `input`,
    /// the name a Sequential model's input has, so a client may use it for any one-input model.
    public func inputIndex(named name: String) -> Int? {
        inputs.firstIndex { $0.name == name } ?? (name == "input" && inputs.count == 1 ? 0 : nil)
    }

    /// Every name `inputIndex(named:)` knows.
    public var acceptedInputNames: Set<String> {
        Set(inputs.map(\.name)).union(inputs.count == 1 ? ["input"] : [])
    }

    /// The indices of the recurrent layers (LSTM, GRU, SimpleRNN, Bidirectional): the layers with state.
    public var recurrentLayerIndices: [Int] {
        layers.indices.filter { layers[$0].directions != nil }
    }

    /// The layers whose outputs `index` reads, directly or through a mask operation.
    public func inboundLayers(of index: Int) -> [Int] {
        var found: [Int] = []
        func visit(_ source: TensorSource) {
            switch source {
            case let .layer(layer, _): if !found.contains(layer) { found.append(layer) }
            case let .operation(operation): visit(operations[operation].input)
            case .input: break
            }
        }
        KerasGraph.dependencies(layers[index].call).forEach(visit)
        return found
    }

    /// The shape of `output` without the batch axis (nil for an axis of any size): a layer's
    /// first output, a recurrent layer's state (`return_state`), or an input.
    public func shape(of output: GraphOutput) -> [Int?] {
        if !output.shape.isEmpty { return output.shape }
        switch output.source {
        case let .layer(index, 0): return layers[index].outputShape
        case let .layer(index, tensor):
            let names = layers[index].stateNames.count
            return [layers[index].stateUnits.map { $0[(tensor - 1) / max(names, 1)] }]
        case let .input(index): return inputs[index].shape
        case .operation: return []
        }
    }

    /// A Keras-style shape: `(None, 40, 76)`.
    public static func describe(_ shape: [Int?]) -> String {
        "(" + shape.map { $0.map(String.init) ?? "None" }.joined(separator: ", ") + ")"
    }
}
