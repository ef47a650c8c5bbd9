import Foundation

/// Text generation for character models: the prompt is run once, then one step per generated
/// character with every LSTM layer's state carried over, sampling from the softmax output.
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

        /// Options for `prompt` with `seed` and the defaults.
        public init(prompt: String, seed: UInt64) {
            self.prompt = prompt
            self.seed = seed
        }
    }

    /// Generates `request.length` characters after the prompt.
    public static func generate(_ model: LoadedModel, _ request: Options) throws -> String {
        let network = model.network
        guard let vocabulary = model.info.vocabulary else {
            throw PeepholeError.notApplicable(field: "prompt", message: "model '\(model.info.model)' has no vocabulary to generate text with")
        }
        guard model.info.outputShape.count == 2, model.info.outputShape[1] == vocabulary.count,
              case .dense(_, .softmax, _, _)? = network.layers.last?.kind else {
            throw PeepholeError.notApplicable(field: "prompt", message: "generation needs a softmax output over the \(vocabulary.count)-token vocabulary, the model outputs \(Network.describe(model.info.outputShape))")
        }
        guard network.requiredSteps == nil else {
            throw PeepholeError.notApplicable(field: "prompt", message: "the model flattens a fixed-length sequence and cannot run one step at a time")
        }
        let recurrent = Set(network.recurrentLayerIndices)
        var input = try model.encode(texts: [request.prompt])
        var result = network.run(input, states: recurrent)
        var random = SplitMix64(seed: request.seed)
        var text = String.UnicodeScalarView()
        for position in 0..<request.length {
            let next = sample(result.output.data, temperature: request.temperature, topK: request.topK, random: &random)
            text.append(contentsOf: vocabulary[next].unicodeScalars)
            guard position + 1 < request.length else { break }
            input = try model.encode(texts: [vocabulary[next]])
            result = network.run(input, states: recurrent, initialStates: result.states)
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
