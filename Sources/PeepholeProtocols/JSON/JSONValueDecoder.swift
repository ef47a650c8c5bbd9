import PeepholeCore

/// A `Decoder` over a parsed `JSONValue`. Request bodies decode themselves from the value as a
/// whole (`JSONFields(from:)`), so that every error names the field at fault in Peephole's
/// words; this decoder hands them the value without re-reading it.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    /// The bounds the body is read under.
    let limits: RequestLimits
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [.requestLimits: limits] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw Self.unsupported
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw Self.unsupported }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Container(value: value) }

    private static let unsupported = DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Peephole request bodies decode from a JSONValue"))

    private struct Container: SingleValueDecodingContainer {
        let value: JSONValue
        var codingPath: [any CodingKey] { [] }

        func decodeNil() -> Bool { value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            guard let value = value as? T else { throw JSONValueDecoder.unsupported }
            return value
        }
    }
}

extension JSONValue: Decodable {
    /// Reads the value from any decoder: as it is from `JSONValueDecoder`, element by element
    /// from others (Foundation's `JSONDecoder` in tests).
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? JSONValueDecoder {
            self = decoder.value
            return
        }
        if let single = try? decoder.singleValueContainer() {
            if single.decodeNil() { self = .null; return }
            if let flag = try? single.decode(Bool.self) { self = .bool(flag); return }
            if let number = try? single.decode(Double.self) { self = .number(number); return }
            if let text = try? single.decode(String.self) { self = .string(text); return }
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
            self = .array(elements)
            return
        }
        let object = try decoder.container(keyedBy: AnyKey.self)
        self = .object(try Dictionary(uniqueKeysWithValues: object.allKeys.map { ($0.stringValue, try object.decode(JSONValue.self, forKey: $0)) }))
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// The Peephole JSON wire format's entry points: bytes to request bodies, responses to bytes.
public enum PeepholeJSON {
    /// Decodes a request body of type `T` from `bytes` under `limits`.
    public static func decode<T: PeepholeRequestBody>(_ type: T.Type, from bytes: some Collection<UInt8>, limits: RequestLimits) throws -> T {
        try T(from: JSONValueDecoder(value: JSONValue.parse(bytes, maxDepth: T.maxDepth(limits)), limits: limits))
    }

    /// The JSON bytes of `value`: written directly when it is `JSONWritable`, else through its
    /// `Encodable` conformance.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        if let writable = value as? any JSONWritable {
            var writer = JSONWriter()
            writable.write(to: &writer)
            return writer.bytes
        }
        return try JSONStreamEncoder.encode(value)
    }
}

extension CodingUserInfoKey {
    /// The `RequestLimits` a body is decoded under.
    static let requestLimits = CodingUserInfoKey(rawValue: "peephole.requestLimits")!
}

extension Decoder {
    /// The limits this body is decoded under (the defaults from a decoder that has none).
    var requestLimits: RequestLimits { userInfo[.requestLimits] as? RequestLimits ?? RequestLimits() }
}
