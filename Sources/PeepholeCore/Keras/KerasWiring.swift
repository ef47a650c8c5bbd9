import Foundation

/// Resolves the tensor references of a Functional configuration (`[layer, node, tensor]`) to
/// graph sources, and reads each layer's call from its `inbound_nodes`.
struct Wiring {
    private let inputs: [String: Int]
    private let layers: [String: Int]
    /// The mask operations Peephole computes (NotEqual and Any on tensors it has), by name.
    private var operations: [String: Int] = [:]
    /// Every operation node of the configuration, by name: its class.
    private let operationClasses: [String: String]
    /// The computed operations, in order.
    private(set) var maskOperations: [MaskOperation] = []

    /// The wiring of a model with these inputs and layers (by name, in order) and these Keras 3
    /// operation nodes (in the configuration's order, which computes each after its arguments).
    init(inputs: [String], layers: [String], operations: [(name: String, entry: [String: Any])]) {
        self.inputs = Dictionary(inputs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        self.layers = Dictionary(layers.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        operationClasses = Dictionary(operations.map { ($0.name, $0.entry["class_name"] as? String ?? "?") }, uniquingKeysWith: { first, _ in first })
        for (name, entry) in operations {
            guard let operation = try? operation(name, entry: entry) else { continue }
            self.operations[name] = maskOperations.count
            maskOperations.append(operation)
        }
    }

    /// The source a reference names, read by layer `reader` (named in the error).
    func source(_ reference: KerasConfigReader.Reference, for reader: String) throws -> TensorSource {
        if let index = inputs[reference.layer] { return .input(index) }
        if let index = layers[reference.layer] { return .layer(index, output: reference.tensor) }
        if let index = operations[reference.layer] { return .operation(index) }
        if let className = operationClasses[reference.layer] {
            throw PeepholeError.unsupported(layer: reader, detail: "it reads the result of operation '\(reference.layer)' (\(className)), which is not supported: only the NotEqual and Any operations Keras writes for masks are")
        }
        throw PeepholeError.unsupported(layer: reader, detail: "it reads '\(reference.layer)', which is not a model input, a layer or a mask operation of the model")
    }

    /// One node's tensors: positional arguments, and the tensors of each keyword argument.
    private struct Node {
        var arguments: [KerasConfigReader.Reference] = []
        var scalars: [Double] = []
        var keywords: [String: [KerasConfigReader.Reference]] = [:]
    }

    /// How `layer` is called, from its configuration entry.
    func call(of layer: KerasLayer, entry: [String: Any]) throws -> LayerCall {
        let nodes = entry["inbound_nodes"] as? [Any] ?? []
        guard nodes.count == 1 else {
            throw PeepholeError.unsupported(layer: layer.name, detail: nodes.isEmpty
                ? "the layer is not connected to the model's inputs"
                : "the layer is called \(nodes.count) times (shared layers are not supported)")
        }
        let node = try Self.node(nodes[0], layer: layer.name)
        var arguments = try node.arguments.map { try source($0, for: layer.name) }
        var initialState = try (node.keywords["initial_state"] ?? []).map { try source($0, for: layer.name) }
        // A mask Keras computed with operations Peephole does not evaluate (the OR of a merge's
        // masks, …) is the mask Peephole propagates itself by the same rules: it is left implicit.
        let mask = node.keywords["mask"]?.first.flatMap { try? source($0, for: layer.name) }
        for key in node.keywords.keys where !["initial_state", "mask"].contains(key) {
            throw PeepholeError.unsupported(layer: layer.name, detail: "the layer is called with a tensor for '\(key)', which is not supported")
        }
        // Keras 2 passes an RNN's initial_state as extra inputs after the sequence.
        if layer.kind.recurrentDirections != nil, arguments.count > 1 {
            initialState = Array(arguments.dropFirst()) + initialState
            arguments = [arguments[0]]
        }
        guard !arguments.isEmpty else { throw PeepholeError.unsupported(layer: layer.name, detail: "the layer is called without an input tensor") }
        if !initialState.isEmpty {
            let expected = layer.kind.recurrentDirections.map { $0.reduce(0) { $0 + $1.stateNames.count } }
            guard initialState.count == expected else {
                throw PeepholeError.unsupported(layer: layer.name, detail: "initial_state has \(initialState.count) tensors, the layer takes \(expected.map(String.init) ?? "none")")
            }
        }
        return LayerCall(inputs: arguments, initialState: initialState, mask: mask)
    }

    /// A mask operation's kind and argument, from its configuration entry.
    private func operation(_ name: String, entry: [String: Any]) throws -> MaskOperation {
        let nodes = entry["inbound_nodes"] as? [Any] ?? []
        guard nodes.count == 1 else { throw PeepholeError.unsupported(layer: name, detail: "the operation is called \(nodes.count) times") }
        let node = try Self.node(nodes[0], layer: name)
        guard node.arguments.count == 1 else { throw PeepholeError.unsupported(layer: name, detail: "the operation takes \(node.arguments.count) tensors") }
        let input = try source(node.arguments[0], for: name)
        let config = entry["config"] as? [String: Any] ?? [:]
        switch entry["class_name"] as? String {
        case "NotEqual":
            guard node.scalars.count == 1 else { throw PeepholeError.unsupported(layer: name, detail: "NotEqual is supported against a number only") }
            return MaskOperation(name: name, kind: .notEqual(value: Float(node.scalars[0])), input: input)
        case "Any":
            let axis = (config["axis"] as? NSNumber)?.intValue ?? ((config["axis"] as? [Any])?.first as? NSNumber)?.intValue
            guard axis == -1, (config["keepdims"] as? Bool) != true else {
                throw PeepholeError.unsupported(layer: name, detail: "Any is supported over the last axis only, got axis=\(String(describing: config["axis"] ?? "nothing"))")
            }
            return MaskOperation(name: name, kind: .anyLastAxis, input: input)
        default:
            throw PeepholeError.unsupported(layer: name, detail: "operation \(entry["class_name"] ?? "?") is not supported")
        }
    }

    /// Reads one inbound node in the Keras 3 or Keras 2 form.
    private static func node(_ value: Any, layer: String) throws -> Node {
        var node = Node()
        if let dictionary = value as? [String: Any] {
            collect(dictionary["args"] ?? [], into: &node.arguments, scalars: &node.scalars)
            for (key, argument) in dictionary["kwargs"] as? [String: Any] ?? [:] {
                var references: [KerasConfigReader.Reference] = [], ignored: [Double] = []
                collect(argument, into: &references, scalars: &ignored)
                if !references.isEmpty { node.keywords[key] = references }
            }
        } else if let entries = value as? [Any] {
            for case let entry as [Any] in entries {
                guard let reference = KerasConfigReader.reference(entry) else {
                    throw PeepholeError.unsupported(layer: layer, detail: "an inbound node entry \(entry) is not [layer, node, tensor, kwargs]")
                }
                node.arguments.append(reference)
                for (key, argument) in entry.count > 3 ? entry[3] as? [String: Any] ?? [:] : [:] {
                    var references: [KerasConfigReader.Reference] = [], ignored: [Double] = []
                    collect(argument, into: &references, scalars: &ignored)
                    if !references.isEmpty { node.keywords[key, default: []] += references }
                }
            }
        }
        return node
    }

    /// Collects the tensor references (Keras 3 `__keras_tensor__` objects, or Keras 2 lists) and
    /// numbers in an argument, depth first.
    private static func collect(_ value: Any, into references: inout [KerasConfigReader.Reference], scalars: inout [Double]) {
        if let dictionary = value as? [String: Any] {
            let config = dictionary["config"] as? [String: Any]
            if let history = (config?["keras_history"] ?? dictionary["keras_history"]) as? [Any], let reference = KerasConfigReader.reference(history) {
                references.append(reference)
            }
        } else if let list = value as? [Any] {
            if let reference = KerasConfigReader.reference(list) {
                references.append(reference)
            } else {
                for item in list { collect(item, into: &references, scalars: &scalars) }
            }
        } else if let number = value as? NSNumber {
            scalars.append(number.doubleValue)
        }
    }
}
