/// What one unit does over a model's corpus, as Karpathy et al. and LSTMVis show it: the contexts
/// where it is highest, samples from each activation quantile band, its histogram and moments,
/// and for a gate how often it is saturated.
public struct UnitStatistics: Sendable {
    /// A place in the corpus and the unit's value there.
    public struct Context: Sendable {
        /// The step, over the whole corpus.
        public var step: Int
        /// The corpus text it is in.
        public var text: String
        /// The step's character offset in that text.
        public var offset: Int
        /// The characters around it.
        public var window: String
        /// Where the step's character is in `window`.
        public var position: Int
        /// The unit's value at the step.
        public var value: Float
    }

    /// The samples of one quantile band, `from..<to` (fractions of the sorted values).
    public struct Band: Sendable {
        public var from: Double
        public var to: Double
        public var samples: [Context]
    }

    /// The unit.
    public var unit: Int
    /// The field it was measured on.
    public var field: String
    /// Steps measured.
    public var count: Int
    public var mean: Double
    public var variance: Double
    public var minimum: Float
    public var maximum: Float
    /// Bin edges (one more than `counts`), equal widths from `minimum` to `maximum`.
    public var edges: [Float]
    public var counts: [Int]
    /// For a gate with a sigmoid-like range (`i`, `f`, `o`): the fraction of steps below 0.1
    /// (left-saturated) and above 0.9 (right-saturated), the statistics Karpathy et al. plot.
    public var saturation: (left: Double, right: Double)?
    /// The `k` highest-valued steps, highest first.
    public var top: [Context]
    /// Samples from quantile bands, lowest band first.
    public var bands: [Band]

    /// The statistics of `unit` over `activations`, with `k` top contexts, `bins` histogram bins
    /// and `bandCount` quantile bands of `samples` samples each.
    public init(_ activations: CorpusActivations, unit: Int, k: Int = 10, bins: Int = 20, bandCount: Int = 5, samples: Int = 3) {
        let column = (0..<activations.steps).map { activations.value(step: $0, unit: unit) }
        let order = column.indices.sorted { column[$0] > column[$1] || (column[$0] == column[$1] && $0 < $1) }
        func context(_ step: Int) -> Context {
            let (window, position, _) = activations.window(around: step)
            let (text, offset) = activations.locate(step)
            return Context(step: step, text: text.name, offset: offset, window: window, position: position, value: column[step])
        }
        self.unit = unit
        field = activations.field
        count = column.count
        let sum = column.reduce(0.0) { $0 + Double($1) }
        let mean = column.isEmpty ? 0 : sum / Double(column.count)
        self.mean = mean
        variance = column.isEmpty ? 0 : column.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(column.count)
        let minimum = column.min() ?? 0, maximum = column.max() ?? 0
        self.minimum = minimum
        self.maximum = maximum
        let width = max(maximum - minimum, .leastNormalMagnitude) / Float(bins)
        edges = (0...bins).map { minimum + Float($0) * width }
        var counts = [Int](repeating: 0, count: bins)
        for value in column { counts[min(bins - 1, Int((value - minimum) / width))] += 1 }
        self.counts = counts
        if ["i", "f", "o"].contains(activations.field), !column.isEmpty {
            saturation = (Double(column.filter { $0 < 0.1 }.count) / Double(column.count), Double(column.filter { $0 > 0.9 }.count) / Double(column.count))
        }
        top = order.prefix(k).map(context)
        // Ascending for the bands: band b holds the values between its quantiles.
        let sortedSteps = Array(order.reversed())
        bands = (0..<bandCount).map { band in
            let from = Double(band) / Double(bandCount), to = Double(band + 1) / Double(bandCount)
            let low = Int(from * Double(sortedSteps.count)), high = Int(to * Double(sortedSteps.count))
            let picks = high > low ? (0..<samples).map { low + ($0 * 2 + 1) * (high - low) / (2 * samples) } : []
            return Band(from: from, to: to, samples: picks.map { context(sortedSteps[$0]) })
        }
    }
}
