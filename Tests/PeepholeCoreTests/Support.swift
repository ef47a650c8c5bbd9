import Foundation
@testable import PeepholeCore

/// Tolerances of the parity tests, stated once. Keras computes in float32 with TensorFlow's
/// kernels and we with ours, so sums are ordered differently: layer outputs agree within 1e-5
/// absolute, states (unbounded cell values) within 2e-5 + 1e-4·|value|.
enum Tolerance {
    static let output: Float = 1e-5
    static func state(_ expected: Float) -> Float { 2e-5 + 1e-4 * abs(expected) }
}

/// Paths of the fixtures this project makes (`tools/fixtures/`) and of the shared ones.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    /// The project's own Keras fixtures.
    static let own = root.appendingPathComponent("Fixtures/keras")
    /// `../shared/fixtures/keras` beside the repository, absent in a user's clone.
    static let shared = root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/keras")

    /// A fresh temporary directory, removed by the caller with `remove`.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("peephole-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A JSON array of numbers (any nesting) flattened, with its shape.
struct NumericArray {
    var shape: [Int]
    var values: [Float]

    init(_ json: Any) {
        var shape: [Int] = []
        var probe = json
        while let array = probe as? [Any] {
            shape.append(array.count)
            guard let first = array.first else { break }
            probe = first
        }
        var values: [Float] = []
        func visit(_ value: Any) {
            if let array = value as? [Any] { array.forEach(visit) } else { values.append((value as! NSNumber).floatValue) }
        }
        visit(json)
        self.shape = shape
        self.values = values
    }

    var tensor: Tensor { Tensor(shape: shape, data: values) }
}

/// The largest absolute difference between two tensors of one shape, or nil when shapes differ.
func maxDifference(_ a: Tensor, _ b: NumericArray) -> Float? {
    guard a.shape == b.shape else { return nil }
    return zip(a.data, b.values).map { abs($0 - $1) }.max() ?? 0
}

/// Whether every value of `a` is within the state tolerance of `b`.
func statesAgree(_ a: Tensor, _ b: NumericArray) -> Bool {
    a.shape == b.shape && zip(a.data, b.values).allSatisfy { abs($0 - $1) <= Tolerance.state($1) }
}
