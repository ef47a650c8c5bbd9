import Foundation
import PeepholeCore

/// Tolerances of the parity tests, stated once. Keras computes in float32 with TensorFlow's
/// kernels and we with ours, so sums are ordered differently: layer outputs agree within 1e-5
/// absolute, states (unbounded cell values) within 2e-5 + 1e-4·|value|.
public enum Tolerance {
    public static let output: Float = 1e-5
    public static func state(_ expected: Float) -> Float { 2e-5 + 1e-4 * abs(expected) }
}

/// Paths of the fixtures this project makes (`tools/fixtures/`) and of the shared ones, and
/// fixture models loaded from a fresh store.
public enum Fixtures {
    /// The `Tests` folder.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    /// The project's own Keras fixtures.
    public static let own = root.appendingPathComponent("Fixtures/keras")
    /// `../shared/fixtures/keras` beside the repository, absent in a user's clone.
    public static let shared = root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/keras")

    /// A fresh temporary directory, removed by the caller.
    public static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("peephole-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Fixture `file` imported as model "m" into a new store in `directory`, loaded.
    public static func model(_ file: String, vocabulary: [String]? = nil, in directory: URL) throws -> LoadedModel {
        let store = try ModelStore(path: directory.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        try store.importModel(try KerasModelFile.read(path: own.appendingPathComponent(file).path), name: "m", vocabulary: vocabulary)
        return try store.load(model: "m")
    }
}

/// A JSON array of numbers (any nesting) flattened, with its shape.
public struct NumericArray {
    public var shape: [Int]
    public var values: [Float]

    public init(_ json: Any) {
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

    public var tensor: Tensor { Tensor(shape: shape, data: values) }
}

/// The largest absolute difference between two tensors of one shape, or nil when shapes differ.
public func maxDifference(_ a: Tensor, _ b: NumericArray) -> Float? {
    guard a.shape == b.shape else { return nil }
    return zip(a.data, b.values).map { abs($0 - $1) }.max() ?? 0
}

/// Whether every value of `a` is within the state tolerance of `b`.
public func statesAgree(_ a: Tensor, _ b: NumericArray) -> Bool {
    a.shape == b.shape && zip(a.data, b.values).allSatisfy { abs($0 - $1) <= Tolerance.state($1) }
}
