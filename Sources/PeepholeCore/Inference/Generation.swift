import Foundation

/// Text generation for character models: sampling one character at a time from the model's
/// softmax output over its vocabulary.
public enum Generation {
    /// What to generate.
    public struct Options: Sendable {
        /// The text to continue; every character must be in the vocabulary.
        public var prompt: String
        /// How many characters to generate.
        public var length = 200
        /// Sampling temperature; 0 picks the most likely character.
        public var temperature: Float = 1
        /// The random seed; the same seed gives the same text.
        public var seed: UInt64
        /// Sample only among the `topK` most likely characters (0: all).
        public var topK = 0
        /// States clamped while generating (interventions), by layer index; their steps count
        /// the characters of the prompt and the generated text together.
        public var clamps: [Int: [StateClamp]] = [:]

        /// Options for `prompt` with `seed` and the defaults.
        public init(prompt: String, seed: UInt64) {
            self.prompt = prompt
            self.seed = seed
        }
    }

    /// Generates `request.length` characters after the prompt.
    ///
    /// A model whose layers each compute a step from that step and the recurrent states alone
    /// runs the prompt once, then one step per character from the carried states of every
    /// recurrent layer. Any other (a convolution or pooling over steps, a backwards or
    /// Bidirectional recurrent layer, a fixed length) reruns the text so far at every character,
    /// its last `requiredSteps` characters for a fixed-length model, as Keras' text generation
    /// examples do.
    public static func generate(_ model: LoadedModel, _ request: Options) throws -> String {
        let network = model.network
        guard let vocabulary = model.info.vocabulary else {
            throw PeepholeError.notApplicable(field: "prompt", message: "model '\(model.info.model)' has no vocabulary to generate text with")
        }
        guard network.inputs.count == 1 else {
            throw PeepholeError.notApplicable(field: "prompt", message: "model '\(model.info.model)' takes \(network.inputs.count) inputs; generation feeds its text to a model with one input")
        }
        guard network.producesProbabilities(network.outputs[0], over: vocabulary.count) else {
            throw PeepholeError.notApplicable(field: "prompt", message: "generation needs a softmax output over the \(vocabulary.count)-token vocabulary, the model outputs \(Network.describe(model.info.outputShape))")
        }
        let stepwise = network.stepsIndependently
        let recurrent = Set(network.recurrentLayerIndices)
        var context = request.prompt.unicodeScalars.map(String.init)
        /// The text so far as the model reads it when rerun (its last `requiredSteps` characters
        /// for a fixed length), and the clamps counted from its first character.
        func window() throws -> (input: Tensor, clamps: [Int: [StateClamp]]) {
            let length = network.requiredSteps ?? context.count
            let input = try model.encode(texts: [context.suffix(length).joined()])
            try network.validate(input, field: "prompt")
            return (input, StateClamp.shift(request.clamps, by: context.count - min(length, context.count)))
        }
        let first = try window()
        var result = network.run(first.input, states: stepwise ? recurrent : [], clamps: first.clamps)
        var random = SplitMix64(seed: request.seed)
        var text = String.UnicodeScalarView()
        for position in 0..<request.length {
            let next = sample(result.outputs[0].data, temperature: request.temperature, topK: request.topK, random: &random)
            text.append(contentsOf: vocabulary[next].unicodeScalars)
            guard position + 1 < request.length else { break }
            context.append(vocabulary[next])
            if stepwise {
                result = network.run(try model.encode(texts: [vocabulary[next]]), states: recurrent, initialStates: result.states,
                                     clamps: StateClamp.shift(request.clamps, by: context.count - 1))
            } else {
                let rerun = try window()
                result = network.run(rerun.input, clamps: rerun.clamps)
            }
        }
        return String(text)
    }

    /// Draws an index from `probabilities` reshaped by `temperature` and cut to the `topK` best.
    static func sample(_ probabilities: [Float], temperature: Float, topK: Int, random: inout SplitMix64) -> Int {
        let ranked = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        if temperature == 0 { return ranked[0] }
        let candidates = topK > 0 ? Array(ranked.prefix(topK)) : ranked
        // p^(1/T), normalised: the softmax of log(p)/T, computed relative to the largest.
        let logs = candidates.map { Double(max(probabilities[$0], .leastNonzeroMagnitude)).log() / Double(temperature) }
        let largest = logs.max()!
        let weights = logs.map { ($0 - largest).exp() }
        var threshold = random.nextUnit() * weights.reduce(0, +)
        for (index, weight) in weights.enumerated() {
            threshold -= weight
            if threshold < 0 { return candidates[index] }
        }
        return candidates[candidates.count - 1]
    }
}

extension Network {
    /// Whether every layer computes a step from that step and its recurrent states alone, so that
    /// running a sequence in chunks with the states carried equals running it whole: no
    /// convolution, pooling or reshaping across steps, no backwards or Bidirectional recurrent
    /// layer, no fixed length.
    var stepsIndependently: Bool {
        requiredSteps == nil && layers.allSatisfy { layer in
            switch layer.kind {
            case .embedding, .dense, .dropout, .masking, .activation, .layerNormalization, .batchNormalization, .merge:
                true
            case .lstm, .gru, .simpleRNN, .bidirectional, .bidirectionalRNN:
                layer.directions!.count == 1 && !layer.directions![0].goBackwards
            case let .conv1D(options):
                options.kernelSize == 1 && options.strides == 1
            case let .concatenate(axis, _):
                axis == -1 || axis == layer.outputShape.count
            case .flatten, .pooling1D, .globalPooling1D, .dot, .repeatVector, .reshape, .permute:
                false
            }
        }
    }

    /// Whether `output` is a softmax over `width` values: of a Dense layer or an Activation layer.
    func producesProbabilities(_ output: GraphOutput, over width: Int) -> Bool {
        guard case let .layer(index, _) = output.source, layers[index].outputShape == [width] else { return false }
        switch layers[index].kind {
        case .dense(_, .softmax, _, _), .activation(.softmax): return true
        default: return false
        }
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64): the same seed gives
/// the same sequence on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1) with 53 random bits.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

private extension Double {
    func log() -> Double { Foundation.log(self) }
    func exp() -> Double { Foundation.exp(self) }
}
