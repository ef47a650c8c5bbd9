/// One field of one recurrent layer at every step of a model's corpus: what the inspector's unit
/// statistics and matches run over. Each corpus text is one sequence, run in chunks with every
/// recurrent state carried from chunk to chunk (as a session runs it), so a long text costs one
/// chunk's trace of memory while it runs.
public struct CorpusActivations: Sendable {
    /// The field: `h` (hidden state) or `c`, `i`, `f`, `g`, `o` (cell state and gates).
    public let field: String
    /// The layer's unit count.
    public let units: Int
    /// `[steps, units]`, every text's steps one after another.
    public let values: [Float]
    /// The corpus the steps come from, with each text's first step.
    public let texts: [(text: CorpusText, start: Int)]

    /// The fields an LSTM layer records.
    public static let fields = ["h", "c", "i", "f", "g", "o"]

    /// The steps in all.
    public var steps: Int { units == 0 ? 0 : values.count / units }

    /// Runs `corpus` through `model` up to layer `layer` (an LSTM) and keeps `field` of every
    /// step; characters outside the vocabulary are skipped.
    public static func compute(_ model: LoadedModel, layer: Int, field: String, corpus: [CorpusText], chunk: Int = 1024) throws -> CorpusActivations {
        guard let units = model.network.layers[layer].stateUnits, units.count == 1 else {
            throw PeepholeError.notApplicable(field: "layer", message: "layer '\(model.network.layers[layer].name)' is not an LSTM layer")
        }
        guard fields.contains(field) else {
            throw PeepholeError.invalidInput(field: "field", message: "expected one of \(fields.joined(separator: ", ")), got '\(field)'")
        }
        let vocabulary = Set(model.info.vocabulary ?? [])
        var values: [Float] = []
        var texts: [(CorpusText, Int)] = []
        var query = LayerQuery(layer: layer)
        if field == "h" { query.trace.sequence = true } else { query.trace.gates = true }
        for text in corpus {
            let characters = text.text.unicodeScalars.map(String.init).filter(vocabulary.contains)
            texts.append((CorpusText(name: text.name, text: characters.joined(), addedAt: text.addedAt), values.count / units[0]))
            var session = SessionState(id: "corpus")
            for start in stride(from: 0, to: characters.count, by: chunk) {
                let input = try model.encode(texts: [characters[start..<min(start + chunk, characters.count)].joined()])
                let result = try session.step(model, input, layer: query)
                guard case let .lstm(trace)? = result.traces[layer] else { preconditionFailure("an LSTM's trace") }
                values += field == "h" ? trace.sequence! : trace.gates![field]!
            }
        }
        return CorpusActivations(field: field, units: units[0], values: values, texts: texts)
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
