import PeepholeCore

/// A response body that writes itself into a `JSONWriter`, giving the bytes its `Encodable`
/// conformance gives through `JSONStreamEncoder` without the `Encoder` protocol's work per field
/// (existential containers, key strings): for the responses every inference request gets.
protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

/// Writes response JSON straight into a byte buffer: objects in a fixed key order, nested float
/// arrays without intermediate trees, floats in their shortest round-trip form.
public struct JSONWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    /// An empty writer.
    public init() { bytes.reserveCapacity(4096) }

    /// Opens an object (as a value, or under `key` inside an object).
    public mutating func beginObject(_ key: String? = nil) {
        prefix(key)
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    /// Closes the innermost object.
    public mutating func endObject() {
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Opens an array.
    public mutating func beginArray(_ key: String? = nil) {
        prefix(key)
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    /// Closes the innermost array.
    public mutating func endArray() {
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// A string value.
    public mutating func string(_ value: String, key: String? = nil) {
        prefix(key)
        quoted(value)
    }

    /// An integer value.
    public mutating func int(_ value: Int, key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A boolean value.
    public mutating func bool(_ value: Bool, key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// A float value; non-finite values are written as null (JSON has no NaN).
    public mutating func float(_ value: Float, key: String? = nil) {
        prefix(key)
        number(value)
    }

    /// A tensor as nested arrays, outermost axis first.
    public mutating func tensor(_ tensor: Tensor, key: String? = nil) {
        prefix(key)
        tensor.data.withUnsafeBufferPointer { values in
            var offset = 0
            writeAxis(0, shape: tensor.shape, values: values, offset: &offset)
        }
    }

    /// Bytes already encoded as JSON, as a value.
    public mutating func raw(_ json: [UInt8], key: String? = nil) {
        prefix(key)
        bytes.append(contentsOf: json)
    }

    private mutating func writeAxis(_ axis: Int, shape: [Int], values: UnsafeBufferPointer<Float>, offset: inout Int) {
        bytes.append(UInt8(ascii: "["))
        for index in 0..<shape[axis] {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if axis == shape.count - 1 {
                number(values[offset])
                offset += 1
            } else {
                writeAxis(axis + 1, shape: shape, values: values, offset: &offset)
            }
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// `value` in its shortest round-trip form, the text of `value.description`, or null when
    /// it is not finite: formatted by the standard library's float printer straight into a
    /// buffer on the stack, without the string `description` makes of it: 41–51 ns a float
    /// against 56–72 ns (random probabilities, three runs).
    private mutating func number(_ value: Float) {
        guard value.isFinite else { return bytes.append(contentsOf: "null".utf8) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            // The printer leaves digits it pads with unwritten, taking them as the '0's that
            // `description`'s own buffer starts with; some runtimes' entry point does not fill them.
            buffer.initialize(repeating: UInt8(ascii: "0"))
            let length = Int(truncatingIfNeeded: float32ToString(buffer.baseAddress!, 32, value, false))
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<length]))
        }
    }

    private mutating func prefix(_ key: String?) {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
        if let key {
            quoted(key)
            bytes.append(UInt8(ascii: ":"))
        }
    }

    private mutating func quoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most text needs no escape: its UTF-8 as it is.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": bytes.append(contentsOf: "\\\"".utf8)
            case "\\": bytes.append(contentsOf: "\\\\".utf8)
            case "\n": bytes.append(contentsOf: "\\n".utf8)
            case "\r": bytes.append(contentsOf: "\\r".utf8)
            case "\t": bytes.append(contentsOf: "\\t".utf8)
            case "\u{08}": bytes.append(contentsOf: "\\b".utf8)
            case "\u{0C}": bytes.append(contentsOf: "\\f".utf8)
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                bytes.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default:
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// The standard library's float printer (what `Float.description` and `debugDescription` print),
/// an entry point of the Swift runtime's stable ABI: writes `value` into `buffer` and returns the
/// length of the text.
@_silgen_name("swift_float32ToString")
private func float32ToString(_ buffer: UnsafeMutablePointer<UInt8>, _ bufferLength: UInt, _ value: Float, _ debug: Bool) -> UInt64
