/// LSTMVis' select and match: the units that stay on over a span of a text, and the places in a
/// corpus where the same units switch on together.
public enum SpanMatching {
    /// A unit selected from a span, with its activation range over the span.
    public struct SelectedUnit: Sendable, Equatable {
        public var unit: Int
        public var minimum: Float
        public var maximum: Float
    }

    /// A run of corpus steps where every selected unit is on.
    public struct Match: Sendable {
        /// Its first step, over the whole corpus.
        public var from: Int
        /// One past its last step.
        public var to: Int
        /// The selected units' mean value over the run.
        public var score: Float
    }

    /// The units of `values` (`[steps, units]`, one text) that are at least `threshold` at every
    /// step of `span`; with `offBefore`/`offAfter`, also below it at the step just before/after
    /// the span (when there is one).
    public static func select(values: [Float], units: Int, span: Range<Int>, threshold: Float, offBefore: Bool, offAfter: Bool) -> [SelectedUnit] {
        let steps = values.count / units
        return (0..<units).compactMap { unit in
            let inSpan = span.map { values[$0 * units + unit] }
            guard inSpan.allSatisfy({ $0 >= threshold }) else { return nil }
            if offBefore, span.lowerBound > 0, values[(span.lowerBound - 1) * units + unit] >= threshold { return nil }
            if offAfter, span.upperBound < steps, values[span.upperBound * units + unit] >= threshold { return nil }
            return SelectedUnit(unit: unit, minimum: inSpan.min()!, maximum: inSpan.max()!)
        }
    }

    /// The longest runs of at least `minLength` steps of `activations` where every unit of `units`
    /// is at least `threshold`, within one text; with `offBefore`/`offAfter`, every unit is below it
    /// at the step just before/after the run. Longest first, then highest score; at most `limit`.
    public static func match(_ activations: CorpusActivations, units: [Int], threshold: Float, minLength: Int,
                             offBefore: Bool, offAfter: Bool, limit: Int) -> [Match] {
        func on(_ step: Int) -> Bool { units.allSatisfy { activations.value(step: step, unit: $0) >= threshold } }
        func off(_ step: Int) -> Bool { units.allSatisfy { activations.value(step: step, unit: $0) < threshold } }
        var matches: [Match] = []
        let ends = activations.texts.map(\.start).dropFirst() + [activations.steps]
        for (text, end) in zip(activations.texts, ends) {
            var step = text.start
            while step < end {
                guard on(step) else { step += 1; continue }
                var stop = step
                while stop < end, on(stop) { stop += 1 }
                let beforeOK = !offBefore || step == text.start || off(step - 1)
                let afterOK = !offAfter || stop == end || off(stop)
                if stop - step >= minLength, beforeOK, afterOK {
                    let total = (step..<stop).reduce(Float(0)) { sum, at in sum + units.reduce(Float(0)) { $0 + activations.value(step: at, unit: $1) } }
                    matches.append(Match(from: step, to: stop, score: total / Float((stop - step) * units.count)))
                }
                step = stop
            }
        }
        return Array(matches.sorted { ($0.to - $0.from, $0.score, -$0.from) > ($1.to - $1.from, $1.score, -$1.from) }.prefix(limit))
    }
}
