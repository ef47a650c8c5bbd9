import PeepholeCore

/// An `Encoder` that writes straight into a `JSONWriter`: keys in the order a value encodes
/// them, floats in their shortest round-trip form, and `TensorJSON` values as nested arrays
/// without boxing each element. Containers are written as they are used, so a value must encode
/// its fields one after another (as synthesized and hand-written `encode(to:)` methods do); a
/// container is closed when its parent writes its next element or the encoding ends.
final class JSONStreamEncoder: Encoder {
    var writer = JSONWriter()
    /// Open containers, innermost last: true for an object, false for an array.
    private var open: [Bool] = []
    /// The key the next value is written under, set by a keyed container before it encodes a
    /// nested value.
    private var pendingKey: String?

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Encodes `value` as one JSON document.
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONStreamEncoder()
        try encoder.write(value, key: nil, depth: 0)
        encoder.close(to: 0)
        return encoder.writer.bytes
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(encoder: self, depth: begin(object: true)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(encoder: self, depth: begin(object: false))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(encoder: self, depth: open.count)
    }

    /// Opens an object or array under the pending key; returns its depth.
    private func begin(object: Bool) -> Int {
        let key = takeKey()
        if object { writer.beginObject(key) } else { writer.beginArray(key) }
        open.append(object)
        return open.count
    }

    /// Closes every container deeper than `depth`.
    fileprivate func close(to depth: Int) {
        while open.count > depth {
            if open.removeLast() { writer.endObject() } else { writer.endArray() }
        }
    }

    private func takeKey() -> String? {
        defer { pendingKey = nil }
        return pendingKey
    }

    /// Writes one value as the next element of the container at `depth` (0: the document).
    fileprivate func write<T: Encodable>(_ value: T, key: String?, depth: Int) throws {
        close(to: depth)
        // Compared by type, not cast: a dynamic cast per value was a measurable part of a response.
        if T.self == String.self {
            writer.string(unsafeBitCast(value, to: String.self), key: key)
        } else if T.self == Int.self {
            writer.int(unsafeBitCast(value, to: Int.self), key: key)
        } else if T.self == Bool.self {
            writer.bool(unsafeBitCast(value, to: Bool.self), key: key)
        } else if T.self == Float.self {
            writer.float(unsafeBitCast(value, to: Float.self), key: key)
        } else if T.self == Double.self {
            let number = unsafeBitCast(value, to: Double.self)
            writer.raw(Array((number.isFinite ? number.description : "null").utf8), key: key)
        } else if T.self == TensorJSON.self {
            writer.tensor(unsafeBitCast(value, to: TensorJSON.self).tensor, key: key)
        } else {
            pendingKey = key
            try value.encode(to: self)
            close(to: depth)
        }
    }

    fileprivate func writeNull(key: String?, depth: Int) {
        close(to: depth)
        writer.raw(Array("null".utf8), key: key ?? takeKey())
    }

    private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: JSONStreamEncoder
        let depth: Int
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws { encoder.writeNull(key: key.stringValue, depth: depth) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try encoder.write(value, key: key.stringValue, depth: depth)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            encoder.close(to: depth)
            encoder.pendingKey = key.stringValue
            return encoder.container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            encoder.close(to: depth)
            encoder.pendingKey = key.stringValue
            return encoder.unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { encoder }
        mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
    }

    private struct UnkeyedContainer: UnkeyedEncodingContainer {
        let encoder: JSONStreamEncoder
        let depth: Int
        var count = 0
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() throws {
            count += 1
            encoder.writeNull(key: nil, depth: depth)
        }
        mutating func encode<T: Encodable>(_ value: T) throws {
            count += 1
            try encoder.write(value, key: nil, depth: depth)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            count += 1
            encoder.close(to: depth)
            return encoder.container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            count += 1
            encoder.close(to: depth)
            return encoder.unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { encoder }
    }

    private struct SingleValueContainer: SingleValueEncodingContainer {
        let encoder: JSONStreamEncoder
        let depth: Int
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() throws { encoder.writeNull(key: nil, depth: depth) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            let key = encoder.takeKey()
            try encoder.write(value, key: key, depth: depth)
        }
    }
}

/// A tensor in a response: nested arrays, outermost axis first (`JSONStreamEncoder` writes it
/// in one pass; other encoders get the same nesting element by element).
public struct TensorJSON: Encodable, Sendable {
    /// The tensor.
    public let tensor: Tensor

    /// Wraps `tensor`.
    public init(_ tensor: Tensor) { self.tensor = tensor }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try encode(axis: 0, offset: 0, into: &container)
    }

    private func encode(axis: Int, offset: Int, into container: inout any UnkeyedEncodingContainer) throws {
        let stride = tensor.shape[(axis + 1)...].reduce(1, *)
        for index in 0..<tensor.shape[axis] {
            if axis == tensor.shape.count - 1 {
                let value = tensor.data[offset + index]
                if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
            } else {
                var inner = container.nestedUnkeyedContainer()
                try encode(axis: axis + 1, offset: offset + index * stride, into: &inner)
            }
        }
    }
}
