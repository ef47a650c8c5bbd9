import PeepholeCore

/// `interventions`: `[{"layer", "field", "units", "steps": {"from", "to"}, "value", "direction"}]`,
/// states clamped during the forward pass (ablation, activation patching). Read as sent, then
/// checked against the model the request runs on by `clamps(for:)`.
struct Interventions: Sendable {
    /// One clamp as sent.
    struct Entry: Sendable {
        var layer: String
        var field: String
        var units: [Int]?
        var steps: Range<Int>?
        var value: Float
        var direction: String?
    }

    /// The clamps, in the request's order.
    var entries: [Entry] = []

    /// The body field.
    static let field = "interventions"

    /// No interventions.
    init() {}

    /// The interventions of a body's fields (none when absent).
    init(_ fields: JSONFields) throws {
        guard let value = fields[Self.field] else { return }
        guard let list = value.elements else {
            throw PeepholeError.invalidInput(field: Self.field, message: "expected a list of {\"layer\", \"field\", \"units\", \"steps\", \"value\"}, got \(value.typeName)")
        }
        guard list.count <= 256 else {
            throw PeepholeError.invalidInput(field: Self.field, message: "\(list.count) interventions exceed the limit of 256")
        }
        entries = try list.enumerated().map { index, element in
            let path = "\(Self.field)[\(index)]"
            let entry = try JSONFields(element, accepted: ["layer", "field", "units", "steps", "value", "direction"], path: path, expected: "an object")
            guard let layer = try entry.string("layer", expected: "a layer name") else {
                throw PeepholeError.invalidInput(field: "\(path).layer", message: "missing: name the recurrent layer to clamp")
            }
            let value: Float
            switch entry["value"] {
            case let .number(number)? where number.isFinite && abs(number) <= 1e6: value = Float(number)
            case let other?: throw PeepholeError.invalidInput(field: "\(path).value", message: "expected a number in -1e6...1e6, got \(other.typeName)")
            case nil: throw PeepholeError.invalidInput(field: "\(path).value", message: "missing: the value the states are set to")
            }
            var steps: Range<Int>?
            if let range = entry["steps"] {
                let bounds = try JSONFields(range, accepted: ["from", "to"], path: "\(path).steps", expected: #"{"from": first, "to": end}"#)
                let from = try bounds.integer("from", in: 0...1e9) ?? 0
                let to = try bounds.integer("to", in: 0...1e9) ?? Int(1e9)
                guard to > from else {
                    throw PeepholeError.invalidInput(field: "\(path).steps", message: "to (\(to)) must be greater than from (\(from))")
                }
                steps = from..<to
            }
            return Entry(layer: layer, field: try entry.string("field", expected: "\"h\" or \"c\"") ?? "h", units: try entry.unitIndices("units"),
                         steps: steps, value: value, direction: try entry.string("direction", expected: "\"forward\" or \"backward\""))
        }
    }

    /// Whether none was asked for.
    var isEmpty: Bool { entries.isEmpty }

    /// The clamps by layer index, checked against `model`: a recurrent layer, one of its states,
    /// units it has, and a direction only for a Bidirectional layer.
    func clamps(for model: LoadedModel) throws -> [Int: [StateClamp]] {
        var clamps: [Int: [StateClamp]] = [:]
        for (position, entry) in entries.enumerated() {
            let path = "\(Self.field)[\(position)]"
            guard let index = model.network.layerIndex(named: entry.layer) else {
                throw PeepholeError.invalidInput(field: "\(path).layer", message: "model '\(model.info.model)' has no layer '\(entry.layer)'")
            }
            let layer = model.network.layers[index]
            guard let units = layer.stateUnits else {
                throw PeepholeError.notApplicable(field: "\(path).layer", message: "layer '\(layer.name)' is a \(layer.className); only recurrent layers' states can be clamped")
            }
            guard layer.stateNames.contains(entry.field) else {
                throw PeepholeError.invalidInput(field: "\(path).field", message: "expected one of \(layer.stateNames.joined(separator: ", ")) (the states of \(layer.className) layer '\(layer.name)'), got '\(entry.field)'")
            }
            var direction: Int?
            if let name = entry.direction {
                guard let directions = layer.directionNames, let side = directions.firstIndex(of: name) else {
                    throw PeepholeError.invalidInput(field: "\(path).direction", message: layer.directionNames == nil
                        ? "layer '\(layer.name)' has one direction; leave direction out"
                        : "expected forward or backward, got '\(name)'")
                }
                direction = side
            }
            let width = direction.map { units[$0] } ?? units.min()!
            if let bad = entry.units?.first(where: { $0 >= width }) {
                throw PeepholeError.invalidInput(field: "\(path).units", message: "unit \(bad) is out of range: layer '\(layer.name)' has \(width) units")
            }
            clamps[index, default: []].append(StateClamp(field: entry.field, units: entry.units, steps: entry.steps, value: entry.value, direction: direction))
        }
        return clamps
    }
}
