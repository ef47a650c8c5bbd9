import Foundation

import PeepholeCore

/// Random-weight networks and one-hot inputs of a given shape, for the larger benchmark cases.
enum Synthetic {
    /// `Input(steps=None, features) → LSTM(hidden) (or GRU) → Dense(outputs, softmax)` with random weights.
    static func network(cell: String = "LSTM", hidden: Int, features: Int, outputs: Int) throws -> Network {
        let file = try modelFile(cell: cell, hidden: hidden, features: features, outputs: outputs, steps: nil)
        return try Network(architecture: file.architecture, weights: file.weights)
    }

    /// The same model as a model file, to import into a store (`steps` fixes the input length).
    static func modelFile(cell: String = "LSTM", hidden: Int, features: Int, outputs: Int, steps: Int?) throws -> KerasModelFile {
        let gates = cell == "GRU" ? 3 : 4
        let config: [String: Any] = [
            "class_name": "Sequential",
            "config": ["layers": [
                ["class_name": "InputLayer", "config": ["name": "input", "batch_shape": [NSNull(), steps.map { $0 as Any } ?? NSNull(), features]]],
                ["class_name": cell, "config": ["name": cell.lowercased(), "units": hidden]],
                ["class_name": "Dense", "config": ["name": "dense", "units": outputs, "activation": "softmax"]],
            ] as [[String: Any]]],
        ]
        let architecture = try KerasArchitecture.parse(modelConfig: config, kerasMajor: 3)
        var random = SplitMix64(seed: 1)
        func tensor(_ shape: [Int], scale: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in (Float.random(in: -1...1, using: &random)) * scale })
        }
        let weights: [[NamedTensor]] = [
            [NamedTensor(name: "kernel", tensor: tensor([features, gates * hidden], scale: 0.1)),
             NamedTensor(name: "recurrent_kernel", tensor: tensor([hidden, gates * hidden], scale: 0.05)),
             NamedTensor(name: "bias", tensor: tensor(cell == "GRU" ? [2, gates * hidden] : [gates * hidden], scale: 0.1))],
            [NamedTensor(name: "kernel", tensor: tensor([hidden, outputs], scale: 0.1)),
             NamedTensor(name: "bias", tensor: tensor([outputs], scale: 0.1))],
        ]
        return try KerasModelFile(madeInCode: architecture, weights: weights, sourceFile: "random_h\(hidden).keras")
    }

    /// The units of the network's first recurrent layer.
    static func hidden(_ network: Network) -> Int {
        network.layers.lazy.compactMap { $0.stateUnits?[0] }.first ?? 0
    }

    /// Multiply-adds ×2 of one sequence, counting the input projection as a full product.
    static func flopsPerSequence(steps: Int, features: Int, hidden: Int, outputs: Int, gates: Int = 4) -> Int {
        steps * (2 * features * gates * hidden + 2 * hidden * gates * hidden) + 2 * hidden * outputs
    }

    /// `batch` sequences of random one-hot rows.
    static func oneHot(batch: Int, steps: Int, features: Int, seed: UInt64) -> Tensor {
        var random = SplitMix64(seed: seed)
        var data = [Float](repeating: 0, count: batch * steps * features)
        for row in 0..<(batch * steps) { data[row * features + Int(random.next() % UInt64(features))] = 1 }
        return Tensor(shape: [batch, steps, features], data: data)
    }
}
