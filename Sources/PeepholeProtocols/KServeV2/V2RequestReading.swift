import PeepholeCore

extension V2InferRequest {
    /// Reads a V2 infer body: all JSON, or (Triton's binary extension) a JSON header of
    /// `headerLength` bytes (`Inference-Header-Content-Length`) followed by the inputs that
    /// carry `binary_data_size`, in the order the header lists them. Every framing fault is an
    /// `invalidInput` naming what does not add up.
    public static func read(_ body: [UInt8], headerLength: String?, limits: RequestLimits) throws -> V2InferRequest {
        try body.withUnsafeBufferPointer { try read($0, headerLength: headerLength, limits: limits) }
    }

    /// The same over bytes borrowed for the call (a request body where it was read): the request
    /// returned owns copies of all it keeps.
    public static func read(_ body: UnsafeBufferPointer<UInt8>, headerLength: String?, limits: RequestLimits) throws -> V2InferRequest {
        var split = body.count
        if let headerLength {
            guard let length = Int(headerLength), length >= 0, headerLength.allSatisfy(\.isASCII), headerLength.allSatisfy(\.isNumber) else {
                throw PeepholeError.invalidInput(field: "Inference-Header-Content-Length", message: "'\(headerLength)' is not a byte count")
            }
            guard length <= body.count else {
                throw PeepholeError.invalidInput(field: "Inference-Header-Content-Length", message: "\(length) exceeds the body's \(body.count) bytes")
            }
            guard length > 0 else {
                throw PeepholeError.invalidInput(field: "Inference-Header-Content-Length", message: "0 (a body of raw tensor data without a JSON header) is not supported: send the JSON header")
            }
            split = length
        }
        let header = try JSONValue.parse(UnsafeBufferPointer(rebasing: body[..<split]), maxDepth: limits.maxDepth + 4)
        guard case .object = header else {
            throw PeepholeError.invalidInput(field: "body", message: "the JSON header must be an object, got \(header.typeName)")
        }
        var binary = BinaryReader(bytes: body, position: split)
        let request = try read(header, binary: &binary)
        guard binary.position == body.count else {
            throw PeepholeError.invalidInput(field: "body", message: "the binary part has \(body.count - split) bytes, the inputs' binary_data_size add up to \(binary.position - split)")
        }
        return request
    }

    private static func read(_ header: JSONValue, binary: inout BinaryReader) throws -> V2InferRequest {
        let fields = try JSONFields(header, accepted: Fields.request)
        let id = try fields.string("id", expected: "a string")
        let parameters = try V2Parameters(fields["parameters"], field: "parameters")
        guard let inputValues = fields["inputs"]?.elements, !inputValues.isEmpty else {
            throw PeepholeError.invalidInput(field: "inputs", message: "expected a non-empty array of input tensors")
        }
        let inputs = try inputValues.enumerated().map { index, value in try readInput(value, field: "inputs[\(index)]", binary: &binary) }
        var outputs: [V2RequestedOutput]?
        if let outputValues = fields["outputs"] {
            guard let elements = outputValues.elements else {
                throw PeepholeError.invalidInput(field: "outputs", message: "expected an array of {\"name\"}, got \(outputValues.typeName)")
            }
            outputs = try elements.enumerated().map { index, value in try readOutput(value, field: "outputs[\(index)]") }
            var seen: Set<String> = []
            for output in outputs! where !seen.insert(output.name).inserted {
                throw PeepholeError.invalidInput(field: "outputs", message: "output '\(output.name)' is requested twice")
            }
        }
        return V2InferRequest(id: id, inputs: inputs, outputs: outputs, binaryOutput: try parameters.flag("binary_data_output"),
                              sequence: try parameters.sequence())
    }

    private static func readInput(_ value: JSONValue, field: String, binary: inout BinaryReader) throws -> V2Input {
        let fields = try JSONFields(value, accepted: Fields.input, path: field)
        guard let name = try fields.string("name", expected: "a string") else {
            throw PeepholeError.invalidInput(field: "\(field).name", message: "missing")
        }
        let named = "input '\(name)'"
        guard let shapeValue = fields["shape"]?.elements else {
            throw PeepholeError.invalidInput(field: "\(named).shape", message: "expected an array of dimensions")
        }
        let shape = try shapeValue.map { dimension -> Int in
            guard case let .number(size) = dimension, size >= 0, size.rounded() == size, size < 1e9 else {
                throw PeepholeError.invalidInput(field: "\(named).shape", message: "expected non-negative integer dimensions, got \(dimension.typeName == "a number" ? "\(dimension)" : dimension.typeName)")
            }
            return Int(size)
        }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product < 1 << 40 else {
                throw PeepholeError.invalidInput(field: "\(named).shape", message: "\(shape) has too many elements")
            }
            count = product
        }
        guard let typeName = try fields.string("datatype", expected: "a string") else {
            throw PeepholeError.invalidInput(field: "\(named).datatype", message: "missing")
        }
        guard let datatype = V2DataType(rawValue: typeName) else {
            throw PeepholeError.invalidInput(field: "\(named).datatype", message: "'\(typeName)' is not supported (FP32, FP64, INT32, INT64 or BYTES)")
        }
        let parameters = try V2Parameters(fields["parameters"], field: "\(named).parameters")
        let values: V2Input.Values
        if let size = try parameters.integer("binary_data_size", in: 0...1e15) {
            guard fields["data"] == nil else {
                throw PeepholeError.invalidInput(field: "\(named).data", message: "send data either in JSON or as binary_data_size, not both")
            }
            let bytes = try binary.take(size, for: named)
            values = try V2Binary.values(bytes, datatype: datatype, count: count, shape: shape, field: named)
        } else {
            guard let data = fields["data"] else {
                throw PeepholeError.invalidInput(field: "\(named).data", message: "missing: send data, or binary_data_size and the binary part")
            }
            values = try V2JSONData.values(data, datatype: datatype, count: count, shape: shape, field: "\(named).data")
        }
        return V2Input(name: name, shape: shape, datatype: datatype, values: values)
    }

    private static func readOutput(_ value: JSONValue, field: String) throws -> V2RequestedOutput {
        let fields = try JSONFields(value, accepted: Fields.output, path: field)
        guard let name = try fields.string("name", expected: "a string") else {
            throw PeepholeError.invalidInput(field: "\(field).name", message: "missing")
        }
        var output = V2RequestedOutput(name: name)
        guard let parameters = fields["parameters"] else { return output }
        let accepted = try JSONFields(parameters, accepted: Fields.outputParameters, path: "output '\(name)'.parameters")
        if accepted["binary_data"] != nil { output.binary = try accepted.flag("binary_data") }
        output.stepsFrom = try accepted.integer("steps_from")
        output.stepsTo = try accepted.integer("steps_to")
        if let units = accepted["units"] {
            guard let elements = units.elements, !elements.isEmpty else {
                throw PeepholeError.invalidInput(field: accepted.name("units"), message: "expected a non-empty array of unit indices, got \(units.typeName)")
            }
            output.units = try elements.map { element in
                guard case let .number(unit) = element, unit >= 0, unit.rounded() == unit, unit < 1e9 else {
                    throw PeepholeError.invalidInput(field: accepted.name("units"), message: "expected unit indices (non-negative integers), got \(element.typeName)")
                }
                return Int(unit)
            }
            if Set(output.units!).count != elements.count {
                throw PeepholeError.invalidInput(field: accepted.name("units"), message: "lists a unit twice")
            }
        }
        return output
    }
}

/// The fields a V2 infer request's objects accept, made once.
private enum Fields {
    static let request: Set<String> = ["id", "parameters", "inputs", "outputs"]
    static let input: Set<String> = ["name", "shape", "datatype", "parameters", "data"]
    static let output: Set<String> = ["name", "parameters"]
    static let outputParameters: Set<String> = ["binary_data", "units", "steps_from", "steps_to"]
}

/// A V2 `parameters` object: open to any key (custom parameters are ignored, as Triton passes
/// them to backends), the ones Peephole reads checked.
struct V2Parameters {
    let fields: JSONFields

    init(_ value: JSONValue?, field: String) throws {
        guard let value else {
            fields = JSONFields(acceptingAny: [:], path: field)
            return
        }
        guard case let .object(object) = value else {
            throw PeepholeError.invalidInput(field: field, message: "expected an object, got \(value.typeName)")
        }
        fields = JSONFields(acceptingAny: object, path: field)
    }

    func flag(_ key: String) throws -> Bool { try fields.flag(key) }

    func integer(_ key: String, in range: ClosedRange<Double>) throws -> Int? { try fields.integer(key, in: range) }

    /// `sequence_id` with `sequence_start` / `sequence_end`; nil without an id (or id 0, which
    /// Triton treats as none).
    func sequence() throws -> V2Sequence? {
        let id: String
        switch fields["sequence_id"] {
        case nil: return nil
        case let .number(value)? where value >= 0 && value.rounded() == value && value < 1e15:
            guard value > 0 else { return nil }
            id = String(Int(value))
        case let .string(text)? where !text.isEmpty && text.count <= 128 && text.unicodeScalars.allSatisfy(Self.idCharacters.contains):
            id = text
        case let other?:
            throw PeepholeError.invalidInput(field: fields.name("sequence_id"), message: "expected a positive integer or a string of letters, digits, '-', '_' and '.' (up to 128), got \(other.typeName)")
        }
        return V2Sequence(id: id, start: try flag("sequence_start"), end: try flag("sequence_end"))
    }

    private static let idCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".unicodeScalars)
}

/// A cursor over the binary part of a body.
struct BinaryReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    /// The next `count` bytes, for `field`.
    mutating func take(_ count: Int, for field: String) throws -> UnsafeBufferPointer<UInt8> {
        guard count <= bytes.count - position else {
            throw PeepholeError.invalidInput(field: "\(field).parameters.binary_data_size", message: "\(count) bytes run past the end of the body (\(bytes.count - position) bytes left)")
        }
        defer { position += count }
        return UnsafeBufferPointer(rebasing: bytes[position..<(position + count)])
    }
}
