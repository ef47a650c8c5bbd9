/// An element-wise (or, for softmax, row-wise) activation function as Keras defines it; the
/// definitions are in the C kernels (`activation.c`), in this order.
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
        precondition(self != .softmax || (width > 0 && count % width == 0), "softmax row width does not divide the data")
        Kernels.activate(self, values, count: count, width: width)
    }

    /// The activation of one value; not defined for softmax, which needs its row.
    func scalar(_ x: Float) -> Float {
        precondition(self != .softmax, "softmax is not element-wise")
        return Kernels.activation(self, at: x)
    }
}
