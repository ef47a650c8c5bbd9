extension Network {
    /// Checks that `input` fits this one-input network's input: see `validate(inputs:fields:)`.
    public func validate(_ input: Tensor, field: String = "inputs") throws {
        try validate(inputs: [input], fields: [field])
    }

    /// Checks that `inputs` (one per model input, in order; `fields` name them in errors) fit
    /// this network: rank, feature widths, steps, token ids in range, one batch size, and that
    /// every layer can take the shapes they lead to (a convolution needs enough steps).
    public func validate(inputs tensors: [Tensor], fields: [String]? = nil) throws {
        let fields = fields ?? (inputs.count == 1 ? ["inputs"] : inputs.map { "inputs.\($0.name)" })
        guard tensors.count == inputs.count else {
            throw PeepholeError.invalidInput(field: "inputs", message: "the model takes \(inputs.count) inputs (\(inputs.map(\.name).joined(separator: ", "))), got \(tensors.count)")
        }
        for (index, input) in tensors.enumerated() {
            try validate(input, against: inputs[index], index: index, field: fields[index])
            guard input.shape[0] == tensors[0].shape[0] else {
                throw PeepholeError.invalidInput(field: fields[index], message: "its batch of \(input.shape[0]) differs from the \(tensors[0].shape[0]) of \(fields[0])")
            }
        }
        // The shapes the graph takes for these step counts: a convolution or pooling needs enough steps.
        guard inputs.contains(where: { $0.shape.count >= 2 }), layers.contains(where: { if case .conv1D = $0.kind { true } else if case .pooling1D = $0.kind { true } else { false } }) else { return }
        var graph = KerasGraph(inputs: inputs, outputs: outputs, calls: layers.map(\.call), operations: operations)
        for index in graph.inputs.indices where graph.inputs[index].shape.count >= 1 { graph.inputs[index].shape[0] = tensors[index].shape[1] }
        let architecture = KerasArchitecture(layers: layers.map { KerasLayer(name: $0.name, className: $0.className, configJSON: "", kind: $0.kind) }, graph: graph)
        do {
            _ = try architecture.allOutputShapes()
        } catch let PeepholeError.unsupported(layer, detail) {
            throw PeepholeError.invalidInput(field: fields[0], message: "layer '\(layer)' cannot take these steps: \(detail)")
        }
    }

    private func validate(_ input: Tensor, against spec: GraphInput, index: Int, field: String) throws {
        let expectedRank = spec.shape.count + 1
        guard input.shape.count == expectedRank else {
            throw PeepholeError.invalidInput(field: field, message: "expected \(expectedRank) nested levels \(Self.describe([nil] + spec.shape)), got \(input.shape.count) \(input.shape)")
        }
        guard input.shape[0] > 0 else { throw PeepholeError.invalidInput(field: field, message: "the batch is empty") }
        if input.shape.count >= 2 {
            guard input.shape[1] > 0 else { throw PeepholeError.invalidInput(field: field, message: "sequences are empty (0 steps)") }
            if requiredSteps != nil, let steps = spec.shape[0], input.shape[1] != steps {
                throw PeepholeError.invalidInput(field: field, message: "this model flattens its sequence and needs exactly \(steps) steps, got \(input.shape[1])")
            }
        }
        for axis in 2..<max(2, expectedRank) {
            if let size = spec.shape[axis - 1], size != input.shape[axis] {
                throw PeepholeError.invalidInput(field: field, message: "expected shape \(Self.describe([nil] + spec.shape)), got \(input.shape): axis \(axis) must have \(size) values, got \(input.shape[axis])")
            }
        }
        let vocabularies = layers.compactMap { layer -> Int? in
            guard layer.call.inputs.contains(.input(index)), case let .embedding(inputDim, _, _) = layer.kind else { return nil }
            return inputDim
        }
        if let inputDim = vocabularies.min() {
            for (position, id) in input.data.enumerated() where id.rounded() != id || id < 0 || id >= Float(inputDim) {
                throw PeepholeError.invalidInput(field: field, message: "token id \(id) at flat position \(position) is not an integer in 0..<\(inputDim)")
            }
        }
    }
}
