/// One field of one recurrent layer at every step of a model's corpus: what the inspector's unit
/// statistics and matches run over. Each corpus text is one sequence, run in chunks with every
/// recurrent state carried from chunk to chunk (as a session runs it), so a long text costs one
/// chunk's trace of memory while it runs.
public struct CorpusActivations: Sendable {
    /// The field: `h` (hidden state) or one of the layer's gates (`fields(of:)`).
    public let field: String
    /// The layer's unit count.
    public let units: Int
    /// `[steps, units]`, every text's steps one after another.
    public let values: [Float]
    /// The corpus the steps come from, with each text's first step.
    public let texts: [(text: CorpusText, start: Int)]

    /// Every field any recurrent layer records.
    public static let allFields = ["h", "c", "i", "f", "g", "o", "z", "r", "hh"]

    /// The fields a one-direction recurrent layer records: `h`, then an LSTM's `c i f g o` or a
    /// GRU's `z r hh`; nil for any other layer.
    public static func fields(of layer: NetworkLayer) -> [String]? {
        guard let directions = layer.kind.recurrentDirections, directions.count == 1 else { return nil }
        return ["h"] + directions[0].gateNames.sorted { ($0 == "c" ? 0 : 1) < ($1 == "c" ? 0 : 1) }
    }

    /// The steps in all.
    public var steps: Int { units == 0 ? 0 : values.count / units }

    /// Runs `corpus` through `model` up to layer `layer` (a one-direction recurrent layer) and
    /// keeps `field` of every step; characters outside the vocabulary are skipped.
    public static func compute(_ model: LoadedModel, layer: Int, field: String, corpus: [CorpusText], chunk: Int = 1024) throws -> CorpusActivations {
        let units = try check(field, of: model.network.layers[layer])
        let vocabulary = Set(model.info.vocabulary ?? [])
        var values: [Float] = []
        var texts: [(CorpusText, Int)] = []
        var query = LayerQuery(layer: layer)
        if field == "h" { query.trace.sequence = true } else { query.trace.gates = true }
        for text in corpus {
            let characters = text.text.unicodeScalars.map(String.init).filter(vocabulary.contains)
            texts.append((CorpusText(name: text.name, text: characters.joined(), addedAt: text.addedAt), values.count / units))
            var session = SessionState(id: "corpus")
            for start in stride(from: 0, to: characters.count, by: chunk) {
                let input = try model.encode(texts: [characters[start..<min(start + chunk, characters.count)].joined()])
                let result = try session.step(model, [input], layer: query)
                let trace = result.traces[layer]![0]
                values += field == "h" ? trace.sequence! : trace.gates![field]!
            }
        }
        return CorpusActivations(field: field, units: units, values: values, texts: texts)
    }

    /// Checks that `layer` is a one-direction recurrent layer that records `field`; returns its unit count.
    public static func check(_ field: String, of layer: NetworkLayer) throws -> Int {
        guard let fields = fields(of: layer) else {
            throw PeepholeError.notApplicable(field: "layer", message: "layer '\(layer.name)' is a \(layer.className), not a one-direction LSTM, GRU or SimpleRNN")
        }
        guard fields.contains(field) else {
            throw PeepholeError.invalidInput(field: "field", message: "expected one of \(fields.joined(separator: ", ")) (the fields of \(layer.className) layer '\(layer.name)'), got '\(field)'")
        }
        return layer.stateUnits![0]
    }

    /// The value of `unit` at `step`.
    public func value(step: Int, unit: Int) -> Float { values[step * units + unit] }

    /// The text holding `step`, and the step's offset in it.
    public func locate(_ step: Int) -> (text: CorpusText, offset: Int) {
        let index = texts.lastIndex { $0.start <= step }!
        return (texts[index].text, step - texts[index].start)
    }

    /// The characters of the corpus from `step - before` to `step + after` within the step's text,
    /// and where `step` falls in them.
    public func window(around step: Int, before: Int = 20, after: Int = 20) -> (text: String, position: Int, from: Int) {
        let (text, offset) = locate(step)
        let scalars = Array(text.text.unicodeScalars)
        let from = max(0, offset - before), to = min(scalars.count, offset + after + 1)
        return (String(String.UnicodeScalarView(scalars[from..<to])), offset - from, from)
    }
}
