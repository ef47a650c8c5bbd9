/// Text as model input, through the model's stored vocabulary.
extension LoadedModel {
    /// The input text is encoded into: the first that takes token ids (it feeds an Embedding),
    /// else the first whose one-hot rows are as wide as the vocabulary, else a model's only
    /// input; nil for a model without a vocabulary.
    public var textInputIndex: Int? {
        guard let vocabulary = info.vocabulary else { return nil }
        let inputs = network.inputs
        return inputs.firstIndex { $0.dtype == .int32 }
            ?? inputs.firstIndex { $0.shape.count == 2 && $0.shape[1] == vocabulary.count }
            ?? (inputs.count == 1 ? 0 : nil)
    }

    /// Encodes `texts` (of equal length) for the text input (`textInputIndex`): one-hot rows, or
    /// token ids for an input that feeds an Embedding. Errors name `text[row]`.
    public func encode(texts: [String]) throws -> Tensor {
        guard let vocabulary = info.vocabulary else {
            throw PeepholeError.notApplicable(field: "text", message: "model '\(info.model)' version \(info.version) has no vocabulary; send inputs instead")
        }
        let rows = try texts.enumerated().map { row, text in
            if let ids = asciiIDs(text) { return ids }
            return try text.unicodeScalars.enumerated().map { position, scalar in
                // A character canonically equivalent to a one-character entry (Å and the Ångström sign) is that entry, as String equality says.
                guard let id = tokenIDs[scalar] ?? vocabulary.firstIndex(of: String(scalar)) else {
                    throw PeepholeError.invalidInput(field: "text[\(row)]", message: "character \(Self.debugName(scalar)) at position \(position) is not in the vocabulary")
                }
                return id
            }
        }
        let steps = rows[0].count
        guard steps > 0 else { throw PeepholeError.invalidInput(field: "text[0]", message: "is empty") }
        if let bad = rows.firstIndex(where: { $0.count != steps }) {
            throw PeepholeError.invalidInput(field: "text[\(bad)]", message: "has \(rows[bad].count) characters, the first text has \(steps): texts in one request must have equal length")
        }
        guard let textInput = textInputIndex else {
            throw PeepholeError.notApplicable(field: "text", message: "none of the inputs of model '\(info.model)' takes token ids or one-hot rows of its \(vocabulary.count)-token vocabulary; send inputs instead")
        }
        if network.inputs[textInput].dtype == .int32 {
            return Tensor(shape: [rows.count, steps], data: rows.flatMap { $0.map(Float.init) })
        }
        let width = vocabulary.count
        var data = [Float](repeating: 0, count: rows.count * steps * width)
        for (row, ids) in rows.enumerated() {
            for (step, id) in ids.enumerated() { data[(row * steps + step) * width + id] = 1 }
        }
        return Tensor(shape: [rows.count, steps, width], data: data)
    }

    /// The token ids of `text` when it is all ASCII and every character is in the vocabulary; nil
    /// otherwise (the general path then encodes it, or names the character that is missing).
    private func asciiIDs(_ text: String) -> [Int]? {
        var text = text
        return text.withUTF8 { bytes in
            var ids = [Int]()
            ids.reserveCapacity(bytes.count)
            for byte in bytes {
                guard byte < 128, case let id = asciiTokenIDs[Int(byte)], id >= 0 else { return nil }
                ids.append(id)
            }
            return ids
        }
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
    /// The unit count of each direction of a recurrent layer (forward first); nil for other layers.
    public var stateUnits: [Int]? {
        directions?.map(\.units)
    }

    /// The names of each direction's states of a recurrent layer: LSTM `["h", "c"]`, GRU and
    /// SimpleRNN `["h"]`.
    public var stateNames: [String] {
        directions?[0].stateNames ?? []
    }

    /// The names of a recurrent layer's directions in responses: nil for one direction, else
    /// `forward` and `backward`.
    public var directionNames: [String]? {
        (directions?.count ?? 0) > 1 ? ["forward", "backward"] : nil
    }

    /// What the layer is to a client who asks for its state: "an LSTM", "a Bidirectional GRU".
    public var recurrentDescription: String {
        guard let directions else { return "not recurrent" }
        let kind = switch directions[0] {
        case .lstm: "LSTM"
        case .gru: "GRU"
        case .simpleRNN: "SimpleRNN"
        }
        return directions.count > 1 ? "a Bidirectional \(kind)" : kind == "LSTM" ? "an LSTM" : "a \(kind)"
    }

    /// The zero state of this layer (which has state) for `batch` rows.
    public func zeroState(batch: Int) -> LayerState {
        LayerState(directions: stateUnits!.map { units in stateNames.map { _ in Tensor(zeros: [batch, units]) } })
    }
}
