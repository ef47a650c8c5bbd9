import Foundation
import Testing
@testable import PeepholeCore

@Test func sgemmMultipliesTwoByTwo() {
    // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50], plus beta · C with C = 1.
    var c: [Float] = [1, 1, 1, 1]
    BLAS.sgemm(.none, .none, m: 2, n: 2, k: 2, a: [1, 2, 3, 4], lda: 2, b: [5, 6, 7, 8], ldb: 2, beta: 1, c: &c, ldc: 2)
    #expect(c == [20, 23, 44, 51])
}

@Test func sgemmTransposesA() {
    // [1 2; 3 4]ᵀ · I = [1 3; 2 4].
    var c: [Float] = [0, 0, 0, 0]
    BLAS.sgemm(.transposed, .none, m: 2, n: 2, k: 2, a: [1, 2, 3, 4], lda: 2, b: [1, 0, 0, 1], ldb: 2, beta: 0, c: &c, ldc: 2)
    #expect(c == [1, 3, 2, 4])
}

@Test func oneLSTMStepMatchesHandComputation() {
    // One unit, one input feature. kernel = [i f c o] = [0.5, -0.5, 1, 2], recurrent = [0.1, 0.2, 0.3, 0.4],
    // bias = [0, 1, 0, 0]. Step 1 with x = 1, h0 = c0 = 0:
    //   z = [0.5, 0.5, 1, 2]; i = σ(0.5), f = σ(0.5), g = tanh(1), o = σ(2)
    //   c1 = i·g, h1 = o·tanh(c1).
    // Step 2 with x = -1: z = [-0.5, 1.5, -1, -2] + h1·[0.1, 0.2, 0.3, 0.4].
    func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    let c1 = sigmoid(0.5) * tanh(1)
    let h1 = sigmoid(2) * tanh(c1)
    let z = [-0.5 + 0.1 * h1, 1.5 + 0.2 * h1, -1 + 0.3 * h1, -2 + 0.4 * h1]
    let c2 = sigmoid(z[1]) * c1 + sigmoid(z[0]) * tanh(z[2])
    let h2 = sigmoid(z[3]) * tanh(c2)

    let options = LSTMOptions(units: 1, activation: .tanh, recurrentActivation: .sigmoid, useBias: true,
                              returnSequences: true, goBackwards: false, zeroOutputForMask: false)
    let cell = LSTMLayer(options: options, inputWidth: 1, kernel: [0.5, -0.5, 1, 2], recurrentKernel: [0.1, 0.2, 0.3, 0.4], bias: [0, 1, 0, 0])
    let result = cell.run(Tensor(shape: [1, 2, 1], data: [1, -1]), mask: nil)
    #expect(abs(Double(result.output.data[0]) - h1) < 1e-6)
    #expect(abs(Double(result.output.data[1]) - h2) < 1e-6)
    #expect(abs(Double(result.state.h.data[0]) - h2) < 1e-6)
    #expect(abs(Double(result.state.c.data[0]) - c2) < 1e-6)
}

@Test func maskedStepKeepsStateAndRepeatsOutput() {
    let options = LSTMOptions(units: 1, activation: .tanh, recurrentActivation: .sigmoid, useBias: true,
                              returnSequences: true, goBackwards: false, zeroOutputForMask: false)
    let recurrentKernel: [Float] = [0.1, 0.2, 0.3, 0.4]
    let cell = LSTMLayer(options: options, inputWidth: 1, kernel: [0.5, -0.5, 1, 2], recurrentKernel: recurrentKernel, bias: [0, 1, 0, 0])
    let masked = cell.run(Tensor(shape: [1, 3, 1], data: [1, 7, -1]), mask: [true, false, true])
    let unmasked = cell.run(Tensor(shape: [1, 2, 1], data: [1, -1]), mask: nil)
    #expect(masked.output.data[1] == masked.output.data[0])
    #expect(masked.output.data[2] == unmasked.output.data[1])
    #expect(masked.state == unmasked.state)

    var zeroing = options
    zeroing.zeroOutputForMask = true
    let zeroed = LSTMLayer(options: zeroing, inputWidth: 1, kernel: cell.kernel, recurrentKernel: recurrentKernel, bias: cell.bias)
        .run(Tensor(shape: [1, 3, 1], data: [1, 7, -1]), mask: [true, false, true])
    #expect(zeroed.output.data[1] == 0)
    #expect(zeroed.output.data[2] == unmasked.output.data[1])
}

@Test func activationsMatchTheirDefinitions() {
    #expect(Activation.relu.scalar(-2) == 0)
    #expect(abs(Activation.sigmoid.scalar(0) - 0.5) < 1e-7)
    #expect(Activation.hardSigmoid.scalar(0) == 0.5)
    #expect(Activation.hardSigmoid.scalar(2.5) == 5.5 / 6)
    #expect(Activation.hardSigmoidKeras2.scalar(2) == 0.9)
    #expect(Activation.hardSigmoidKeras2.scalar(3) == 1)
    #expect(Activation.leakyRelu.scalar(-1) == -0.2)
    #expect(abs(Activation.gelu.scalar(1) - 0.8413447) < 1e-6)
    #expect(abs(Activation.selu.scalar(-1) - (-1.1113307)) < 1e-6)
    #expect(abs(Activation.softplus.scalar(100) - 100) < 1e-5)
    var row: [Float] = [1, 2, 3]
    row.withUnsafeMutableBufferPointer { Activation.softmax.apply($0.baseAddress!, count: 3, width: 3) }
    #expect(abs(row[2] - 0.66524096) < 1e-6)
    #expect(Activation.keras("hard_sigmoid", kerasMajor: 2) == .hardSigmoidKeras2)
    #expect(Activation.keras("silu", kerasMajor: 3) == .swish)
    #expect(Activation.keras("mish", kerasMajor: 3) == nil)
}

/// The layer activations in the C kernels are the formulas Swift's libm gives, bit for bit (what
/// the engine computed before they moved there): float32 arithmetic, no fused multiply-adds.
@Test func layerActivationsAreTheLibmFormulas() {
    let values = (0..<2000).map { Float($0 - 1000) * 0.0173 }
    func sigmoid(_ x: Float) -> Float { x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x)) }
    let formulas: [(Activation, (Float) -> Float)] = [
        (.sigmoid, sigmoid), (.tanh, { Foundation.tanh($0) }), (.elu, { $0 > 0 ? $0 : expm1($0) }),
        (.softplus, { $0 > 0 ? $0 + log1p(Foundation.exp(-$0)) : log1p(Foundation.exp($0)) }),
        (.swish, { $0 * sigmoid($0) }), (.gelu, { 0.5 * $0 * (1 + erf($0 / Float(2).squareRoot())) }),
        (.selu, { Float(1.0507009873554805) * ($0 > 0 ? $0 : Float(1.6732632423543772) * expm1($0)) }),
        (.hardSigmoidKeras2, { min(max(0.2 * $0 + 0.5, 0), 1) }), (.hardSigmoid, { min(max($0 + 3, 0), 6) / 6 }),
    ]
    for (activation, formula) in formulas {
        #expect(values.allSatisfy { activation.scalar($0).bitPattern == formula($0).bitPattern }, "\(activation)")
    }
    var row = Array(values[0..<76])
    let largest = row.max()!
    var expected = row.map { Foundation.exp($0 - largest) }
    let sum = expected.reduce(0, +)
    expected = expected.map { $0 / sum }
    row.withUnsafeMutableBufferPointer { Activation.softmax.apply($0.baseAddress!, count: 76, width: 76) }
    #expect(row.map(\.bitPattern) == expected.map(\.bitPattern))
}

@Test func snakeCaseFollowsKeras() {
    #expect(KerasModelFile.snakeCase("LSTM") == "lstm")
    #expect(KerasModelFile.snakeCase("TimeDistributed") == "time_distributed")
    #expect(KerasModelFile.snakeCase("InputLayer") == "input_layer")
}

@Test func archivePathsNumberLayersOfOneClass() {
    let layers: [[String: Any]] = [
        ["class_name": "InputLayer", "config": ["name": "in"]],
        ["class_name": "LSTM", "config": ["name": "second"]],
        ["class_name": "LSTM", "config": ["name": "lstm"]],
        ["class_name": "Dense", "config": ["name": "dense_1"]],
        ["class_name": "Dense", "config": ["name": "dense"]],
    ]
    let paths = KerasModelFile.archivePaths(layerObjects: layers)
    #expect(paths == ["in": "input_layer", "second": "lstm", "lstm": "lstm_1", "dense_1": "dense", "dense": "dense_1"])
}
