/// A 1-D convolution over the steps, channels last, with its weights packed for the matrix kernel.
///
/// Each output step gathers its taps (`kernelSize` steps `dilationRate` apart, zeros where they
/// fall in the padding) into one row of `kernelSize · channels` values, and that row times the
/// kernel `[kernelSize · channels, filters]` (Keras' `[kernelSize, channels, filters]`, read
/// row-major) is the step's output: one product per row, so a row never depends on its batch.
struct Conv1DLayer: Sendable {
    let options: Conv1DOptions
    let channels: Int
    let kernel: PackedMatrix
    /// `[filters]`; zeros for a layer without bias.
    let bias: [Float]

    init(options: Conv1DOptions, channels: Int, kernel: [Float], bias: [Float]?) {
        self.options = options
        self.channels = channels
        self.kernel = PackedMatrix(kernel, rows: options.kernelSize * channels, columns: options.filters)
        self.bias = bias ?? [Float](repeating: 0, count: options.filters)
    }

    /// `[batch, steps, channels]` → `[batch, outputSteps, filters]`.
    func run(_ input: Tensor) -> Tensor {
        let batch = input.shape[0], steps = input.shape[1], taps = options.kernelSize, width = taps * channels
        let span = options.dilationRate * (taps - 1) + 1
        let outputSteps: Int, before: Int
        switch options.padding {
        case .valid: (outputSteps, before) = ((steps - span) / options.strides + 1, 0)
        case .causal: (outputSteps, before) = ((steps + options.strides - 1) / options.strides, span - 1)
        case .same:
            outputSteps = (steps + options.strides - 1) / options.strides
            before = max((outputSteps - 1) * options.strides + span - steps, 0) / 2
        }
        var rows = [Float](repeating: 0, count: batch * outputSteps * width)
        for row in 0..<batch {
            for step in 0..<outputSteps {
                for tap in 0..<taps {
                    let source = step * options.strides + tap * options.dilationRate - before
                    guard source >= 0, source < steps else { continue }
                    let from = (row * steps + source) * channels, to = (row * outputSteps + step) * width + tap * channels
                    for channel in 0..<channels { rows[to + channel] = input.data[from + channel] }
                }
            }
        }
        var output = kernel.affine(rows, lda: width, count: batch * outputSteps, bias: bias)
        output.withUnsafeMutableBufferPointer { options.activation.apply($0.baseAddress!, count: $0.count, width: options.filters) }
        return Tensor(shape: [batch, outputSteps, options.filters], data: output)
    }
}

/// Max and average pooling over windows of steps, channels last.
enum Pooling {
    /// `[batch, steps, channels]` → `[batch, outputSteps, channels]`. With `same` padding the
    /// windows overhanging either end pool only the steps they cover (TensorFlow's rule).
    static func run(_ input: Tensor, _ options: Pooling1DOptions) -> Tensor {
        let batch = input.shape[0], steps = input.shape[1], channels = input.shape[2]
        let outputSteps = options.samePadding ? (steps + options.strides - 1) / options.strides : (steps - options.poolSize) / options.strides + 1
        let before = options.samePadding ? max((outputSteps - 1) * options.strides + options.poolSize - steps, 0) / 2 : 0
        var output = [Float](repeating: 0, count: batch * outputSteps * channels)
        for row in 0..<batch {
            for step in 0..<outputSteps {
                let start = max(step * options.strides - before, 0), end = min(step * options.strides - before + options.poolSize, steps)
                for channel in 0..<channels {
                    var value: Float = options.average ? 0 : -.infinity
                    for source in start..<end {
                        let x = input.data[(row * steps + source) * channels + channel]
                        value = options.average ? value + x : max(value, x)
                    }
                    output[(row * outputSteps + step) * channels + channel] = options.average ? value / Float(end - start) : value
                }
            }
        }
        return Tensor(shape: [batch, outputSteps, channels], data: output)
    }

    /// `[batch, steps, channels]` → `[batch, channels]`: the maximum, or the average over the
    /// steps `mask` keeps (Keras' rule; a row with every step masked divides 0 by 0).
    static func global(_ input: Tensor, average: Bool, mask: [Bool]?) -> Tensor {
        let batch = input.shape[0], steps = input.shape[1], channels = input.shape[2]
        var output = [Float](repeating: 0, count: batch * channels)
        for row in 0..<batch {
            let kept = (0..<steps).filter { mask?[row * steps + $0] ?? true }
            for channel in 0..<channels {
                let values = (0..<steps).map { input.data[(row * steps + $0) * channels + channel] }
                output[row * channels + channel] = average ? kept.reduce(Float(0)) { $0 + values[$1] } / Float(kept.count) : values.max()!
            }
        }
        return Tensor(shape: [batch, channels], data: output)
    }
}

/// Normalisation over the last axis.
struct NormalizationLayer: Sendable {
    /// Per-row statistics (LayerNormalization), or the moving mean and variance (BatchNormalization).
    let moving: (mean: [Float], variance: [Float])?
    let epsilon: Float
    /// `[width]`; nil without scale or centre.
    let gamma: [Float]?
    let beta: [Float]?

    /// `[…, width]` → the same shape, normalised row by row.
    func run(_ input: Tensor) -> Tensor {
        let width = input.lastDimension
        var output = input
        for row in 0..<input.rows {
            let x = input.data[(row * width)..<((row + 1) * width)]
            var mean: Float, variance: Float
            if moving == nil {
                let sum = x.reduce(Double(0)) { $0 + Double($1) }, average = sum / Double(width)
                mean = Float(average)
                variance = Float(x.reduce(Double(0)) { $0 + (Double($1) - average) * (Double($1) - average) } / Double(width))
            } else {
                (mean, variance) = (0, 0)
            }
            for feature in 0..<width {
                if let moving { (mean, variance) = (moving.mean[feature], moving.variance[feature]) }
                var value = (x[x.startIndex + feature] - mean) / (variance + epsilon).squareRoot()
                if let gamma { value *= gamma[feature] }
                if let beta { value += beta[feature] }
                output.data[row * width + feature] = value
            }
        }
        return output
    }
}
