/// Vectorised activations for the LSTM step: eight lanes at a time, accurate to a few ulp.
///
/// `exp` is Cephes' `expf` (range reduction by ln 2, degree-6 polynomial, exponent by bit
/// manipulation); sigmoid and tanh are built on it. Libm's scalar functions cost more than the
/// recurrent product itself at the sizes Peephole serves, hence these.
enum VectorMath {
    typealias Vector = SIMD8<Float>

    @inline(__always)
    static func exp(_ value: Vector) -> Vector {
        var x = value.replacing(with: -87, where: value .< -87)
        x.replace(with: 88, where: x .> 88)
        // n = round(x / ln 2), by adding 1.5·2²³: the sum's low mantissa bits hold n as an integer.
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * r * r + r + 1
        // 2ⁿ: n + 127 in the exponent field.
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        return y * unsafeBitCast((integer &+ 127) &<< 23, to: Vector.self)
    }

    @inline(__always)
    static func sigmoid(_ x: Vector) -> Vector {
        1 / (1 + exp(-x))
    }

    @inline(__always)
    static func tanh(_ x: Vector) -> Vector {
        let magnitude = abs(x)
        let positive = 1 - 2 / (exp(2 * magnitude) + 1)
        return positive.replacing(with: -positive, where: x .< 0)
    }

    @inline(__always)
    static func abs(_ x: Vector) -> Vector {
        x.replacing(with: -x, where: x .< 0)
    }

    /// Applies `activation` to `count` values in place: sigmoid and tanh vectorised, the others
    /// (piecewise-linear or rare) with the scalar definitions.
    static func apply(_ activation: Activation, _ values: UnsafeMutablePointer<Float>, count: Int) {
        switch activation {
        case .sigmoid: map(values, count: count, sigmoid)
        case .tanh: map(values, count: count, tanh)
        case .linear: return
        default: for index in 0..<count { values[index] = activation.scalar(values[index]) }
        }
    }

    @inline(__always)
    private static func map(_ values: UnsafeMutablePointer<Float>, count: Int, _ function: (Vector) -> Vector) {
        var index = 0
        while index + 8 <= count {
            let pointer = UnsafeMutableRawPointer(values + index)
            pointer.storeBytes(of: function(pointer.loadUnaligned(as: Vector.self)), as: Vector.self)
            index += 8
        }
        if index < count {
            var tail = Vector()
            for lane in 0..<(count - index) { tail[lane] = values[index + lane] }
            let result = function(tail)
            for lane in 0..<(count - index) { values[index + lane] = result[lane] }
        }
    }

    /// `c = f·c + i·g` and `h = o·activation(c)` for one row, from its activated gates laid out
    /// `[i f g o]` (`units` each).
    static func cellUpdate(gates: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
                           units: Int, activation: Activation) {
        let i = gates, f = gates + units, g = gates + 2 * units, o = gates + 3 * units
        var unit = 0
        if activation == .tanh {
            while unit + 8 <= units {
                let cell = load(f + unit) * load(c + unit) + load(i + unit) * load(g + unit)
                store(cell, c + unit)
                store(load(o + unit) * tanh(cell), h + unit)
                unit += 8
            }
        }
        while unit < units {
            let cell = f[unit] * c[unit] + i[unit] * g[unit]
            c[unit] = cell
            var value = cell
            apply(activation, &value, count: 1)
            h[unit] = o[unit] * value
            unit += 1
        }
    }

    /// `result = a + b`, `count` values.
    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into result: UnsafeMutablePointer<Float>, count: Int) {
        var index = 0
        while index + 8 <= count {
            let sum = UnsafeRawPointer(a + index).loadUnaligned(as: Vector.self) + UnsafeRawPointer(b + index).loadUnaligned(as: Vector.self)
            store(sum, result + index)
            index += 8
        }
        while index < count {
            result[index] = a[index] + b[index]
            index += 1
        }
    }

    @inline(__always)
    private static func load(_ pointer: UnsafeMutablePointer<Float>) -> Vector {
        UnsafeRawPointer(pointer).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    private static func store(_ vector: Vector, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: vector, as: Vector.self)
    }
}
