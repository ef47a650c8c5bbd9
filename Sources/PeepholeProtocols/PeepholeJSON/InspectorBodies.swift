import PeepholeCore

/// `GET /models/{model}/corpus`: the texts stored with the model.
public struct CorpusResponse: Encodable, Sendable {
    var model: String
    var texts: [Entry]

    struct Entry: Encodable, Sendable {
        var name: String
        var characters: Int
        var addedAt: String
        enum CodingKeys: String, CodingKey { case name, characters, addedAt = "added_at" }
    }

    /// Lists `corpus`, model `model`'s texts.
    public init(model: String, corpus: [CorpusText]) {
        self.model = model
        texts = corpus.map { Entry(name: $0.name, characters: $0.text.unicodeScalars.count, addedAt: $0.addedAt) }
    }
}

/// A place in the corpus: the text, the step's offset, the characters around it, and values.
struct ContextJSON: Encodable, Sendable {
    var text: String
    var offset: Int
    var window: String
    var position: Int
    var value: Float

    init(_ context: UnitStatistics.Context) {
        text = context.text
        offset = context.offset
        window = context.window
        position = context.position
        value = context.value
    }
}

/// `GET …/layers/{layer}/units/{unit}`: what the unit does over the model's corpus.
public struct UnitStatisticsResponse: Encodable, Sendable {
    var model: String
    var version: Int
    var layer: String
    var unit: Int
    var field: String
    var steps: Int
    var mean: Double
    var variance: Double
    var min: Float
    var max: Float
    var histogram: Histogram
    var saturation: Saturation?
    var top: [ContextJSON]
    var quantiles: [Band]

    struct Histogram: Encodable, Sendable { var edges: [Float]; var counts: [Int] }
    struct Saturation: Encodable, Sendable { var left: Double; var right: Double }
    struct Band: Encodable, Sendable { var from: Double; var to: Double; var samples: [ContextJSON] }

    init(model: LoadedModel, layer: String, _ statistics: UnitStatistics) {
        self.model = model.info.model
        version = model.info.version
        self.layer = layer
        unit = statistics.unit
        field = statistics.field
        steps = statistics.count
        mean = statistics.mean
        variance = statistics.variance
        min = statistics.minimum
        max = statistics.maximum
        histogram = Histogram(edges: statistics.edges, counts: statistics.counts)
        saturation = statistics.saturation.map { Saturation(left: $0.left, right: $0.right) }
        top = statistics.top.map(ContextJSON.init)
        quantiles = statistics.bands.map { Band(from: $0.from, to: $0.to, samples: $0.samples.map(ContextJSON.init)) }
    }
}

/// `POST …/layers/{layer}/match`: units given, or selected from a span of a text, and where in the
/// corpus they switch on together.
public struct MatchRequest: PeepholeRequestBody {
    /// The units to match, when given.
    var units: [Int]?
    /// The text to select units from, and the span (`from..<to`, characters) to select over.
    var text: String?
    var span: Range<Int>?
    /// The field: `h` by default.
    var field: String
    var threshold: Float
    var minLength: Int
    var offBefore: Bool
    var offAfter: Bool
    var limit: Int

    public static func maxDepth(_ limits: RequestLimits) -> Int { 4 }

    public init(from decoder: any Decoder) throws {
        let fields = try JSONFields(from: decoder, accepted: ["units", "text", "span", "field", "threshold", "min_length", "constraints", "limit"])
        field = try fields.string("field", expected: "one of " + CorpusActivations.allFields.joined(separator: ", ")) ?? "h"
        guard CorpusActivations.allFields.contains(field) else {
            throw PeepholeError.invalidInput(field: "field", message: "expected one of \(CorpusActivations.allFields.joined(separator: ", ")), got '\(field)'")
        }
        switch fields["threshold"] {
        case nil: threshold = 0.3
        case let .number(value)? where value.isFinite && abs(value) <= 1e6: threshold = Float(value)
        case let other?: throw PeepholeError.invalidInput(field: "threshold", message: "expected a number, got \(other.typeName)")
        }
        let range: ClosedRange<Float> = ["h", "g", "hh"].contains(field) ? -1...1 : field == "c" ? -1e6...1e6 : 0...1
        guard range.contains(threshold) else {
            throw PeepholeError.invalidInput(field: "threshold", message: "\(threshold) is outside \(range.lowerBound)...\(range.upperBound), the range of field \(field)")
        }
        minLength = try fields.integer("min_length", in: 1...10_000) ?? 2
        limit = try fields.integer("limit", in: 1...1000) ?? 20
        if let constraints = fields["constraints"] {
            let flags = try JSONFields(constraints, accepted: ["before", "after"], path: "constraints", expected: "an object")
            offBefore = try flags.flag("before")
            offAfter = try flags.flag("after")
        } else {
            (offBefore, offAfter) = (false, false)
        }
        text = try fields.string("text", expected: "a string")
        if let span = fields["span"] {
            let bounds = try JSONFields(span, accepted: ["from", "to"], path: "span", expected: #"{"from": first, "to": end}"#)
            guard let from = try bounds.integer("from"), let to = try bounds.integer("to"), from >= 0, to > from else {
                throw PeepholeError.invalidInput(field: "span", message: "expected {\"from\": first, \"to\": end} with 0 <= from < to")
            }
            self.span = from..<to
        }
        units = try fields.unitIndices("units")
        guard (units == nil) != (text == nil) else {
            throw PeepholeError.invalidInput(field: units == nil ? "units" : "text", message: "send either units, or a text and a span to select them from")
        }
        if text != nil, span == nil { throw PeepholeError.invalidInput(field: "span", message: "missing: the characters of the text to select units over") }
    }
}

/// The answer to `match`: the units matched (with their range over the span when selected from
/// one) and the corpus runs where they are on together, longest first.
public struct MatchResponse: Encodable, Sendable {
    var model: String
    var version: Int
    var layer: String
    var field: String
    var threshold: Float
    var units: [Unit]
    var matches: [MatchJSON]

    struct Unit: Encodable, Sendable { var unit: Int; var min: Float?; var max: Float? }

    struct MatchJSON: Encodable, Sendable {
        var text: String
        var from: Int
        var to: Int
        var score: Float
        /// The characters around the run, where the run starts in them, and the selected units'
        /// mean value at each of those characters.
        var window: String
        var position: Int
        var values: [Float]
    }
}
