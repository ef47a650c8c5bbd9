import Foundation
import Testing
@testable import PeepholeCore

/// GRU and SimpleRNN steps by hand, and the GRU's identity at every step of a trace.
@Suite struct RecurrentKindTests {
    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    private func gru(resetAfter: Bool, units: Int = 1, inputWidth: Int = 1, goBackwards: Bool = false) -> GRULayer {
        let options = GRUOptions(units: units, activation: .tanh, recurrentActivation: .sigmoid, useBias: true, returnSequences: true,
                                 goBackwards: goBackwards, zeroOutputForMask: false, returnState: false, resetAfter: resetAfter)
        let width = 3 * units
        let kernel = (0..<(inputWidth * width)).map { Float(($0 % 7) - 3) * 0.2 }
        let recurrent = (0..<(units * width)).map { Float(($0 % 5) - 2) * 0.3 }
        let bias = (0..<((resetAfter ? 2 : 1) * width)).map { Float(($0 % 3) - 1) * 0.5 }
        return GRULayer(options: options, inputWidth: inputWidth, kernel: kernel, recurrentKernel: recurrent, bias: bias)
    }

    @Test(arguments: [true, false])
    func gruStepsMatchTheEquations(resetAfter: Bool) {
        let layer = gru(resetAfter: resetAfter)
        // One unit: W = [-0.6, -0.4, -0.2], U = [-0.6, -0.3, 0], b_in = [-0.5, 0, 0.5], b_rec = [-0.5, 0, 0.5].
        let w = [-0.6, -0.4, -0.2], u = [-0.6, -0.3, 0.0], bIn = [-0.5, 0, 0.5], bRec = resetAfter ? [-0.5, 0, 0.5] : [0, 0, 0]
        var h = 0.0
        var expected: [Double] = []
        for x in [1.0, -2.0] {
            let z = sigmoid(x * w[0] + bIn[0] + h * u[0] + bRec[0]), r = sigmoid(x * w[1] + bIn[1] + h * u[1] + bRec[1])
            let hh = resetAfter ? tanh(x * w[2] + bIn[2] + r * (h * u[2] + bRec[2])) : tanh(x * w[2] + bIn[2] + (r * h) * u[2])
            h = z * h + (1 - z) * hh
            expected.append(h)
        }
        let run = layer.run(Tensor(shape: [1, 2, 1], data: [1, -2]), mask: nil, initial: nil, trace: nil)
        for (got, want) in zip(run.output.data, expected) { #expect(abs(Double(got) - want) < 1e-6) }
        #expect(abs(Double(run.states[0].data[0]) - expected[1]) < 1e-6)
    }

    @Test(arguments: [true, false])
    func gruTraceHoldsItsIdentityAtEveryStep(resetAfter: Bool) throws {
        let units = 5, steps = 6, batch = 2
        let layer = gru(resetAfter: resetAfter, units: units, inputWidth: 3, goBackwards: resetAfter)
        let input = Tensor(shape: [batch, steps, 3], data: (0..<(batch * steps * 3)).map { sin(Float($0)) })
        var options = TraceOptions()
        options.sequence = true
        options.gates = true
        options.preactivations = true
        let recorder = TraceRecorder(options: options, layout: .gru, batch: batch, stepCount: steps, units: units, goBackwards: resetAfter)
        let mask = (0..<(batch * steps)).map { $0 != 3 && $0 != 10 }
        _ = layer.run(input, mask: mask, initial: nil, trace: recorder)
        let trace = try #require(recorder.result)
        #expect(trace.gateNames == ["z", "r", "hh"])
        let gates = trace.gates!, sequence = trace.sequence!
        for row in 0..<batch {
            for step in 0..<steps {
                for unit in 0..<units {
                    let at = (row * steps + step) * units + unit
                    let previous = step == 0 ? 0 : sequence[at - units]
                    let z = gates["z"]![at], hh = gates["hh"]![at]
                    #expect(abs(sequence[at] - (z * previous + (1 - z) * hh)) < 1e-6, "row \(row) step \(step) unit \(unit)")
                }
            }
        }
    }

    @Test func maskedGRUStepKeepsState() {
        let layer = gru(resetAfter: true)
        let masked = layer.run(Tensor(shape: [1, 3, 1], data: [1, 7, -1]), mask: [true, false, true], initial: nil, trace: nil)
        let unmasked = layer.run(Tensor(shape: [1, 2, 1], data: [1, -1]), mask: nil, initial: nil, trace: nil)
        #expect(masked.output.data[1] == masked.output.data[0])
        #expect(masked.output.data[2] == unmasked.output.data[1])
        #expect(masked.states == unmasked.states)
    }

    @Test func simpleRNNStepsMatchTheEquation() {
        let options = SimpleRNNOptions(units: 1, activation: .tanh, useBias: true, returnSequences: true, goBackwards: false,
                                       zeroOutputForMask: false, returnState: false)
        let layer = SimpleRNNLayer(options: options, inputWidth: 1, kernel: [0.5], recurrentKernel: [-0.8], bias: [0.1])
        let h1 = tanh(0.5 * 1 + 0.1), h2 = tanh(0.5 * -2 + 0.1 - 0.8 * h1)
        let run = layer.run(Tensor(shape: [1, 2, 1], data: [1, -2]), mask: nil, initial: nil, trace: nil)
        #expect(abs(Double(run.output.data[0]) - h1) < 1e-6)
        #expect(abs(Double(run.output.data[1]) - h2) < 1e-6)
    }
}
