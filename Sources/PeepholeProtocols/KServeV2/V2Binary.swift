import PeepholeCore

/// Tensor data in Triton's binary extension: little-endian, row-major, no padding; a BYTES
/// element is a 4-byte little-endian length and its bytes.
package enum V2Binary {
    /// The `count` elements of `datatype` in `bytes` (one input's binary part), checked to be
    /// exactly as many bytes as `shape` needs.
    static func values(_ bytes: UnsafeBufferPointer<UInt8>, datatype: V2DataType, count: Int, shape: [Int], field: String) throws -> V2Input.Values {
        guard let size = datatype.elementSize else { return .strings(try strings(bytes, count: count, shape: shape, field: field)) }
        guard bytes.count == count * size else {
            throw PeepholeError.invalidInput(field: "\(field).parameters.binary_data_size", message: "\(bytes.count) bytes, but shape \(shape) of \(datatype.rawValue) needs \(count * size)")
        }
        // Written through the uninitialized buffer: assigning `data[i]` inside the closure checked
        // the array's uniqueness per element, which made decoding the demo model's 12 KB input
        // cost as much as parsing its 15 KB of JSON.
        let raw = UnsafeRawBufferPointer(bytes)
        let data = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch datatype {
            case .fp32:
                #if _endian(little)
                UnsafeMutableRawBufferPointer(out).copyMemory(from: raw)
                #else
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                #endif
            case .fp64: for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .int32: for i in 0..<count { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case .int64: for i in 0..<count { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .bytes: preconditionFailure("BYTES has no element size")
            }
            initialized = count
        }
        if !allFinite(data), let bad = data.firstIndex(where: { !$0.isFinite }) {
            throw PeepholeError.invalidInput(field: field, message: "element \(bad) is not a finite float32")
        }
        return .numbers(data)
    }

    /// Whether no value is infinite or NaN (all exponent bits set). Without an early exit the
    /// loop is vectorised: the largest exponent field is the all-ones one only if some value has it.
    static func allFinite(_ values: [Float]) -> Bool {
        let exponent: UInt32 = 0x7f80_0000
        var largest: UInt32 = 0
        values.withUnsafeBufferPointer { values in
            for value in values { largest = max(largest, value.bitPattern & exponent) }
        }
        return largest != exponent
    }

    /// `count` length-prefixed UTF-8 strings filling `bytes` exactly.
    private static func strings(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, shape: [Int], field: String) throws -> [String] {
        var position = bytes.startIndex
        var strings: [String] = []
        for index in 0..<count {
            guard bytes.endIndex - position >= 4 else {
                throw PeepholeError.invalidInput(field: field, message: "BYTES element \(index) of \(count) (shape \(shape)): its 4-byte length runs past the end of the input's binary data")
            }
            let length = Int(bytes[position]) | Int(bytes[position + 1]) << 8 | Int(bytes[position + 2]) << 16 | Int(bytes[position + 3]) << 24
            position += 4
            guard length <= bytes.endIndex - position else {
                throw PeepholeError.invalidInput(field: field, message: "BYTES element \(index) has length \(length), past the end of the input's binary data (\(bytes.endIndex - position) bytes left)")
            }
            guard let text = String(validating: bytes[position..<(position + length)], as: UTF8.self) else {
                throw PeepholeError.invalidInput(field: field, message: "BYTES element \(index) is not UTF-8 text")
            }
            strings.append(text)
            position += length
        }
        guard position == bytes.endIndex else {
            throw PeepholeError.invalidInput(field: "\(field).parameters.binary_data_size", message: "\(bytes.endIndex - position) bytes left over after the \(count) BYTES elements of shape \(shape)")
        }
        return strings
    }

    /// `values` as little-endian float32 bytes.
    package static func bytes(_ values: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * index, as: UInt32.self)
            }
        }
        return bytes
    }
}

/// Tensor data as JSON: `data` flat or nested, row-major, as many elements as the shape holds.
enum V2JSONData {
    static func values(_ data: JSONValue, datatype: V2DataType, count: Int, shape: [Int], field: String) throws -> V2Input.Values {
        if case let .numbers(_, values) = data, datatype != .bytes {
            try check(values.count, count, shape: shape, field: field)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw PeepholeError.invalidInput(field: "\(field)[\(bad)]", message: "not a finite float32")
            }
            return .numbers(values)
        }
        var leaves: [JSONValue] = []
        try flatten(data, into: &leaves, field: field)
        try check(leaves.count, count, shape: shape, field: field)
        if datatype == .bytes {
            return .strings(try leaves.enumerated().map { index, leaf in
                guard case let .string(text) = leaf else {
                    throw PeepholeError.invalidInput(field: "\(field)[\(index)]", message: "expected a string (BYTES), got \(leaf.typeName)")
                }
                return text
            })
        }
        return .numbers(try leaves.enumerated().map { index, leaf in
            guard case let .number(number) = leaf, Float(number).isFinite else {
                throw PeepholeError.invalidInput(field: "\(field)[\(index)]", message: "expected a finite \(datatype.rawValue) number, got \(leaf.typeName == "a number" ? "\(leaf)" : leaf.typeName)")
            }
            return Float(number)
        })
    }

    private static func flatten(_ value: JSONValue, into leaves: inout [JSONValue], field: String) throws {
        switch value {
        case .array, .numbers:
            for element in value.elements! { try flatten(element, into: &leaves, field: field) }
        default:
            leaves.append(value)
        }
    }

    private static func check(_ got: Int, _ expected: Int, shape: [Int], field: String) throws {
        guard got == expected else {
            throw PeepholeError.invalidInput(field: field, message: "\(got) elements, but shape \(shape) holds \(expected)")
        }
    }
}
