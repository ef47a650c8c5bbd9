import PeepholeCore

/// Where a model version's corpus activations come from: the server computes each layer and field
/// once per version and keeps it (see `InspectorCache`).
public protocol CorpusActivationsSource: Sendable {
    /// `field` of layer `layer` over the corpus of `model`.
    func activations(_ model: LoadedModel, layer: Int, field: String) throws -> CorpusActivations
}

extension PeepholeAPI {
    /// `GET …/layers/{layer}/units/{unit}?field=h&k=10`: the unit's statistics over the corpus.
    public func unitStatistics(model: LoadedModel, layer name: String, unit text: String, field: String?, k: String?,
                               source: some CorpusActivationsSource) async throws -> UnitStatisticsResponse {
        let index = try model.layerIndex(name)
        let field = field ?? "h"
        guard let count = k.map({ Int($0) }) ?? 10, (1...100).contains(count) else {
            throw PeepholeError.invalidInput(field: "k", message: "expected an integer in 1...100, got '\(k ?? "")'")
        }
        let activations = try await runner.alone(model, endpoint: "unit_statistics", batch: 1) {
            try source.activations(model, layer: index, field: field)
        }
        guard let unit = Int(text), unit >= 0, unit < activations.units else {
            throw PeepholeError.invalidInput(field: "unit", message: "unit '\(text)' is out of range: layer '\(name)' has \(activations.units) units")
        }
        return UnitStatisticsResponse(model: model, layer: name, UnitStatistics(activations, unit: unit, k: count))
    }

    /// `POST …/layers/{layer}/match`: the units given or selected from a span, and the corpus runs
    /// where they are all on.
    public func match(_ request: MatchRequest, model: LoadedModel, layer name: String, source: some CorpusActivationsSource) async throws -> MatchResponse {
        let index = try model.layerIndex(name)
        let field = request.field
        let activations = try await runner.alone(model, endpoint: "match", batch: 1) {
            try source.activations(model, layer: index, field: field)
        }
        var units: [MatchResponse.Unit]
        if let given = request.units {
            if let bad = given.first(where: { $0 >= activations.units }) {
                throw PeepholeError.invalidInput(field: "units", message: "unit \(bad) is out of range: layer '\(name)' has \(activations.units) units")
            }
            units = given.map { MatchResponse.Unit(unit: $0) }
        } else {
            units = try select(request, model: model, layer: index).map { MatchResponse.Unit(unit: $0.unit, min: $0.minimum, max: $0.maximum) }
        }
        let chosen = units.map(\.unit)
        let matches = chosen.isEmpty ? [] : SpanMatching.match(
            activations, units: chosen, threshold: request.threshold, minLength: request.minLength,
            offBefore: request.offBefore, offAfter: request.offAfter, limit: request.limit)
        return MatchResponse(
            model: model.info.model, version: model.info.version, layer: name, field: field, threshold: request.threshold, units: units,
            matches: matches.map { Self.describe($0, in: activations, units: chosen) })
    }

    /// The units on over the request's span of its text.
    private func select(_ request: MatchRequest, model: LoadedModel, layer: Int) throws -> [SpanMatching.SelectedUnit] {
        let text = request.text!, span = request.span!
        let count = text.unicodeScalars.count
        guard span.upperBound <= count else {
            throw PeepholeError.invalidInput(field: "span", message: "\(span.lowerBound)..<\(span.upperBound) is outside the text's \(count) characters")
        }
        let input = try limits.checked(model.encode(texts: [text]), model: model)
        var query = LayerQuery(layer: layer)
        if request.field == "h" { query.trace.sequence = true } else { query.trace.gates = true }
        let trace = query.run(on: model.network, [input]).traces[layer]![0]
        let values = request.field == "h" ? trace.sequence! : trace.gates![request.field]!
        return SpanMatching.select(values: values, units: trace.units.count, span: span, threshold: request.threshold,
                                   offBefore: request.offBefore, offAfter: request.offAfter)
    }

    private static func describe(_ match: SpanMatching.Match, in activations: CorpusActivations, units: [Int]) -> MatchResponse.MatchJSON {
        let (text, offset) = activations.locate(match.from)
        let (window, position, _) = activations.window(around: match.from, before: 20, after: match.to - match.from + 19)
        let first = match.from - position
        let values = (0..<window.unicodeScalars.count).map { index in
            units.reduce(Float(0)) { $0 + activations.value(step: first + index, unit: $1) } / Float(units.count)
        }
        return MatchResponse.MatchJSON(text: text.name, from: offset, to: offset + match.to - match.from, score: match.score,
                                       window: window, position: position, values: values)
    }
}
