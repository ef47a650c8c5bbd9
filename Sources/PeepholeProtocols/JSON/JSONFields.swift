import PeepholeCore

/// A JSON object a request carries (the body, or an object inside it), read under the one rule
/// every Peephole body follows: a field it does not accept is refused, naming the ones it does.
struct JSONFields {
    /// The object's fields.
    let fields: [String: JSONValue]
    /// The field path of the object: "" for the body, else what its fields' names start with.
    let path: String

    /// Reads `value` as an object whose fields are all in `accepted`; `expected` describes the
    /// object when `value` is something else.
    init(_ value: JSONValue, accepted: Set<String>, path: String = "", expected: String = "a JSON object") throws {
        guard case let .object(fields) = value else {
            throw PeepholeError.invalidInput(field: path.isEmpty ? "body" : path, message: path.isEmpty ? "expected \(expected)" : "expected \(expected), got \(value.typeName)")
        }
        // The first refused field alphabetically, found without sorting or copying the body's keys.
        if let unknown = fields.keys.lazy.filter({ !accepted.contains($0) }).min() {
            throw PeepholeError.invalidInput(field: Self.join(path, unknown), message: "unknown field (accepted: \(accepted.sorted().joined(separator: ", ")))")
        }
        self.fields = fields
        self.path = path
    }

    /// An object open to any field (`fields`, at `path`).
    init(acceptingAny fields: [String: JSONValue], path: String) {
        self.fields = fields
        self.path = path
    }

    /// The body `decoder` holds, read as above.
    init(from decoder: any Decoder, accepted: Set<String>, expected: String = "a JSON object") throws {
        try self.init(try decoder.singleValueContainer().decode(JSONValue.self), accepted: accepted, expected: expected)
    }

    subscript(key: String) -> JSONValue? { fields[key] }

    /// The full name of field `key`, for error messages.
    func name(_ key: String) -> String { Self.join(path, key) }

    /// `key` as true or false; false when absent.
    func flag(_ key: String) throws -> Bool {
        switch fields[key] {
        case nil: return false
        case let .bool(flag)?: return flag
        case let other?: throw PeepholeError.invalidInput(field: name(key), message: "expected true or false, got \(other.typeName)")
        }
    }

    /// `key` as an integer (absent or null: nil).
    func integer(_ key: String) throws -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case let .number(value)? where value.rounded() == value && abs(value) < 1e9: return Int(value)
        case let other?: throw PeepholeError.invalidInput(field: name(key), message: "expected an integer, got \(other.typeName)")
        }
    }

    /// `key` as an integer in `range` (absent: nil).
    func integer(_ key: String, in range: ClosedRange<Double>) throws -> Int? {
        switch fields[key] {
        case nil: return nil
        case let .number(value)? where value.rounded() == value && range.contains(value): return Int(value)
        case let other?:
            throw PeepholeError.invalidInput(field: name(key), message: "expected an integer in \(Int(range.lowerBound))...\(Int(range.upperBound)), got \(other.typeName == "a number" ? "\(other)" : other.typeName)")
        }
    }

    /// `key` as a string (absent: nil); `expected` describes it in the error.
    func string(_ key: String, expected: String) throws -> String? {
        switch fields[key] {
        case nil: return nil
        case let .string(text)?: return text
        case let other?: throw PeepholeError.invalidInput(field: name(key), message: "expected \(expected), got \(other.typeName)")
        }
    }

    /// `key` as a non-empty array of unit indices (absent: nil).
    func unitIndices(_ key: String) throws -> [Int]? {
        switch fields[key] {
        case nil: return nil
        case let value? where !(value.elements ?? []).isEmpty:
            return try value.elements!.enumerated().map { index, element in
                guard case let .number(unit) = element, unit >= 0, unit.rounded() == unit, unit < 1e9 else {
                    throw PeepholeError.invalidInput(field: "\(name(key))[\(index)]", message: "expected a unit index (a non-negative integer), got \(element.typeName)")
                }
                return Int(unit)
            }
        case let other?:
            throw PeepholeError.invalidInput(field: name(key), message: "expected a non-empty array of unit indices, got \(other.typeName)")
        }
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}
