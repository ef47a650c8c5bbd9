import PeepholeCore

/// Turns nested JSON arrays into tensors, naming what is wrong when they do not form one.
enum TensorReading {
    static func tensor(_ value: JSONValue, field: String) throws -> Tensor {
        if case let .numbers(shape, values) = value {
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                var path = field, rest = bad
                for axis in shape.indices {
                    let size = shape[(axis + 1)...].reduce(1, *)
                    path += "[\(rest / size)]"
                    rest %= size
                }
                throw PeepholeError.invalidInput(field: path, message: "the number there is not a finite float32")
            }
            guard shape[0] > 0 else { throw PeepholeError.invalidInput(field: field, message: "the batch is empty") }
            return Tensor(shape: shape, data: values)
        }
        var shape: [Int] = []
        var probe = value
        while let elements = probe.elements {
            shape.append(elements.count)
            guard let first = elements.first else { break }
            probe = first
        }
        guard !shape.isEmpty else {
            throw PeepholeError.invalidInput(field: field, message: "expected nested arrays of numbers, got \(value.typeName)")
        }
        guard shape[0] > 0 else { throw PeepholeError.invalidInput(field: field, message: "the batch is empty") }
        var data: [Float] = []
        data.reserveCapacity(shape.reduce(1, *))
        try flatten(value, shape: shape, axis: 0, path: field, into: &data)
        return Tensor(shape: shape, data: data)
    }

    private static func flatten(_ value: JSONValue, shape: [Int], axis: Int, path: @autoclosure () -> String, into data: inout [Float]) throws {
        if axis == shape.count {
            if case .numbers = value {
                throw PeepholeError.invalidInput(field: path(), message: "expected a number (shape \(shape)), got \(value.typeName): ragged array")
            }
            guard case let .number(number) = value else {
                throw PeepholeError.invalidInput(field: path(), message: "expected a number, got \(value.typeName)")
            }
            let float = Float(number)
            guard float.isFinite else {
                throw PeepholeError.invalidInput(field: path(), message: "\(number) is not a finite float32")
            }
            data.append(float)
            return
        }
        // A slow path for what the parser could not read as one rectangular array: a mix of
        // trees and rectangular parts, ragged or not numeric.
        guard let elements = value.elements else {
            throw PeepholeError.invalidInput(field: path(), message: "expected an array of \(shape[axis]) (shape \(shape)), got \(value.typeName): ragged or too shallow")
        }
        guard elements.count == shape[axis] else {
            throw PeepholeError.invalidInput(field: path(), message: "expected \(shape[axis]) elements like its siblings (shape \(shape)), got \(elements.count): ragged array")
        }
        for (index, element) in elements.enumerated() {
            try flatten(element, shape: shape, axis: axis + 1, path: "\(path())[\(index)]", into: &data)
        }
    }
}
