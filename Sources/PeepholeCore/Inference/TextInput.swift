/// Text as model input, through the model's stored vocabulary.
extension LoadedModel {
    /// Encodes `texts` (of equal length) as one-hot rows, or as token ids for a model that starts
    /// with an Embedding. Errors name `text[row]`.
    public func encode(texts: [String]) throws -> Tensor {
        guard let vocabulary = info.vocabulary else {
            throw PeepholeError.notApplicable(field: "text", message: "model '\(info.model)' version \(info.version) has no vocabulary; send inputs instead")
        }
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        let rows = try texts.enumerated().map { row, text in
            try text.unicodeScalars.enumerated().map { position, scalar in
                guard let id = index[String(scalar)] else {
                    throw PeepholeError.invalidInput(field: "text[\(row)]", message: "character \(Self.debugName(scalar)) at position \(position) is not in the vocabulary")
                }
                return id
            }
        }
        let steps = rows[0].count
        guard steps > 0 else { throw PeepholeError.invalidInput(field: "text[0]", message: "is empty") }
        if let bad = rows.firstIndex(where: { $0.count != steps }) {
            throw PeepholeError.invalidInput(field: "text[\(bad)]", message: "has \(rows[bad].count) characters, text[0] has \(steps): texts in one request must have equal length")
        }
        if network.inputDType == .int32 {
            return Tensor(shape: [rows.count, steps], data: rows.flatMap { $0.map(Float.init) })
        }
        let width = vocabulary.count
        var data = [Float](repeating: 0, count: rows.count * steps * width)
        for (row, ids) in rows.enumerated() {
            for (step, id) in ids.enumerated() { data[(row * steps + step) * width + id] = 1 }
        }
        return Tensor(shape: [rows.count, steps, width], data: data)
    }

    /// The `k` most likely tokens of each row of `output` (`[batch, vocabulary]` probabilities),
    /// ties broken by index. The caller checked that the model has a vocabulary of that width.
    public func topTokens(_ output: Tensor, k: Int) -> [[(token: String, p: Float)]] {
        let width = output.lastDimension
        let vocabulary = info.vocabulary!
        return (0..<output.rows).map { row in
            let probabilities = output.data[(row * width)..<((row + 1) * width)]
            let best = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }.prefix(k)
            return best.map { (vocabulary[$0 - row * width], probabilities[$0]) }
        }
    }

    private static func debugName(_ scalar: Unicode.Scalar) -> String {
        "'\(scalar.escaped(asASCII: false))' (U+\(String(scalar.value, radix: 16, uppercase: true)))"
    }
}

extension NetworkLayer {
    /// The unit count of each direction of a layer with state (an LSTM, or a Bidirectional
    /// LSTM); nil for other layers.
    public var stateUnits: [Int]? {
        switch kind {
        case let .lstm(options): [options.units]
        case let .bidirectional(forward, backward, _): [forward.units, backward.units]
        default: nil
        }
    }

    /// The zero state of this layer (which has state) for `batch` rows.
    public func zeroState(batch: Int) -> LayerState {
        let zeros = stateUnits!.map { LSTMState(h: Tensor(zeros: [batch, $0]), c: Tensor(zeros: [batch, $0])) }
        return zeros.count == 1 ? .lstm(zeros[0]) : .bidirectional(forward: zeros[0], backward: zeros[1])
    }
}
