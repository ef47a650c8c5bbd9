import Foundation

/// An element-wise (or, for softmax, row-wise) activation function as Keras defines it.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case linear, relu, sigmoid, tanh, softmax, elu, selu, softplus, softsign, swish, gelu, exponential
    /// Keras 3: `relu6(x + 3) / 6`.
    case hardSigmoid = "hard_sigmoid"
    /// Keras 2 (tf.keras): `clip(0.2 x + 0.5, 0, 1)`.
    case hardSigmoidKeras2 = "hard_sigmoid_keras2"
    /// `x` for positive `x`, `0.2 x` otherwise (Keras' default negative slope).
    case leakyRelu = "leaky_relu"

    /// The activation Keras means by `name` in a file written by Keras `kerasMajor`; nil for a
    /// name Peephole does not compute. `None`/missing means linear.
    public static func keras(_ name: String?, kerasMajor: Int) -> Activation? {
        switch name ?? "linear" {
        case "linear", "None": .linear
        case "silu", "swish": .swish
        case "hard_sigmoid": kerasMajor >= 3 ? .hardSigmoid : .hardSigmoidKeras2
        case "hard_sigmoid_keras2": nil
        case let other: Activation(rawValue: other)
        }
    }

    /// Applies the activation in place to `count` values; softmax normalises each row of `width`.
    func apply(_ values: UnsafeMutablePointer<Float>, count: Int, width: Int) {
        switch self {
        case .linear:
            return
        case .softmax:
            precondition(width > 0 && count % width == 0, "softmax row width does not divide the data")
            for row in stride(from: 0, to: count, by: width) {
                Self.softmax(values + row, count: width)
            }
        default:
            for index in 0..<count { values[index] = scalar(values[index]) }
        }
    }

    /// The activation of one value; not defined for softmax, which needs its row.
    @inline(__always)
    func scalar(_ x: Float) -> Float {
        switch self {
        case .linear: return x
        case .relu: return max(x, 0)
        case .sigmoid: return Self.sigmoid(x)
        case .tanh: return Foundation.tanh(x)
        case .elu: return x > 0 ? x : expm1(x)
        case .selu: return Self.seluScale * (x > 0 ? x : Self.seluAlpha * expm1(x))
        case .softplus: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
        case .softsign: return x / (1 + abs(x))
        case .swish: return x * Self.sigmoid(x)
        case .gelu: return 0.5 * x * (1 + erf(x / Float(2).squareRoot()))
        case .exponential: return exp(x)
        case .hardSigmoid: return min(max(x + 3, 0), 6) / 6
        case .hardSigmoidKeras2: return min(max(0.2 * x + 0.5, 0), 1)
        case .leakyRelu: return x > 0 ? x : 0.2 * x
        case .softmax: preconditionFailure("softmax is not element-wise")
        }
    }

    private static let seluAlpha: Float = 1.6732632423543772
    private static let seluScale: Float = 1.0507009873554805

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// Numerically stable softmax of one row, in place.
    static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for index in 0..<count { largest = max(largest, row[index]) }
        var sum: Float = 0
        for index in 0..<count {
            row[index] = exp(row[index] - largest)
            sum += row[index]
        }
        for index in 0..<count { row[index] /= sum }
    }
}
