import PeepholeCore

/// A parsed JSON document. Peephole parses request bodies itself rather than through
/// `JSONSerialization`, so that booleans never pass for numbers, duplicate keys and excessive
/// nesting are refused, and errors say where the text went wrong.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    /// A rectangular array of numbers (any nesting), read straight into float32 values: how
    /// the parser returns model inputs, without a tree of elements.
    case numbers(shape: [Int], values: [Float])

    /// Parses `bytes` as one JSON value; nesting deeper than `maxDepth` is refused.
    /// Contiguous bytes (an array, a `ByteBuffer`'s view) are read where they are, not copied.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = 64) throws -> JSONValue {
        if let value = try bytes.withContiguousStorageIfAvailable({ try parse(buffer: $0, maxDepth: maxDepth) }) {
            return value
        }
        return try Array(bytes).withUnsafeBufferPointer { try parse(buffer: $0, maxDepth: maxDepth) }
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws -> JSONValue {
        var parser = JSONParser(bytes: buffer, maxDepth: maxDepth)
        return try parser.document()
    }

    /// A short name of the value's type for error messages ("a string", "an array of 3").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case let .array(elements): "an array of \(elements.count)"
        case let .numbers(shape, _): "an array of \(shape[0])"
        case .object: "an object"
        }
    }

    /// The elements of an array (of either representation); nil for other values.
    public var elements: [JSONValue]? {
        switch self {
        case let .array(elements):
            return elements
        case let .numbers(shape, values):
            guard shape.count > 1 else { return values.map { .number(Double($0)) } }
            let inner = Array(shape.dropFirst()), size = inner.reduce(1, *)
            return (0..<shape[0]).map { .numbers(shape: inner, values: Array(values[($0 * size)..<(($0 + 1) * size)])) }
        default:
            return nil
        }
    }
}
