import Foundation

extension KerasLayerParser {
    /// The convolution, pooling, normalisation, merge and reshaping layers; nil for another class.
    static func shapeLayer(_ className: String, _ reader: ConfigReader, kerasMajor: Int) throws -> LayerKind? {
        if let merge = ["Add": MergeOperation.add, "Subtract": .subtract, "Multiply": .multiply, "Average": .average,
                        "Maximum": .maximum, "Minimum": .minimum][className] {
            return .merge(merge, masks: kerasMajor >= 3 ? .any : .all)
        }
        switch className {
        case "Conv1D":
            try reader.require("data_format", equals: "channels_last", as: "channels_last")
            try reader.require("groups", equals: 1, as: "1")
            let padding = try reader.choice("padding", ["valid", "same", "causal"], default: "valid")
            let options = Conv1DOptions(
                filters: try reader.int("filters"), kernelSize: try reader.size("kernel_size"), strides: try reader.size("strides", default: 1),
                dilationRate: try reader.size("dilation_rate", default: 1), padding: Conv1DOptions.Padding(rawValue: padding)!,
                activation: try reader.activation("activation", kerasMajor: kerasMajor), useBias: try reader.bool("use_bias", default: true))
            guard options.strides == 1 || options.dilationRate == 1 else {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "Conv1D with both strides and dilation_rate above 1 is not supported (Keras refuses it too)")
            }
            return .conv1D(options)
        case "MaxPooling1D", "AveragePooling1D":
            try reader.require("data_format", equals: "channels_last", as: "channels_last")
            let poolSize = try reader.size("pool_size", default: 2)
            return .pooling1D(Pooling1DOptions(
                average: className == "AveragePooling1D", poolSize: poolSize, strides: try reader.size("strides", default: poolSize),
                samePadding: try reader.choice("padding", ["valid", "same"], default: "valid") == "same"))
        case "GlobalMaxPooling1D", "GlobalAveragePooling1D":
            try reader.require("data_format", equals: "channels_last", as: "channels_last")
            if try reader.bool("keepdims", default: false) {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "\(className) option keepdims=true is not supported")
            }
            return .globalPooling1D(average: className == "GlobalAveragePooling1D")
        case "LayerNormalization", "BatchNormalization":
            try lastAxis(reader)
            if try reader.bool("rms_scaling", default: false) {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "\(className) option rms_scaling=true is not supported")
            }
            if try reader.bool("renorm", default: false) {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "BatchNormalization option renorm=true is not supported")
            }
            let epsilon = Float(try reader.double("epsilon", default: 1e-3))
            let center = try reader.bool("center", default: true), scale = try reader.bool("scale", default: true)
            return className == "LayerNormalization"
                ? .layerNormalization(epsilon: epsilon, center: center, scale: scale)
                : .batchNormalization(epsilon: epsilon, center: center, scale: scale)
        case "Concatenate":
            return .concatenate(axis: (reader.config["axis"] as? NSNumber)?.intValue ?? -1, masks: kerasMajor >= 3 ? .any : .all)
        case "Dot":
            let axes = try (reader.config["axes"] as? NSNumber).map { [$0.intValue, $0.intValue] } ?? reader.ints("axes")
            guard axes.count == 2 else { throw PeepholeError.unsupported(layer: reader.layer, detail: "Dot option axes=\(axes) is not supported (one axis per input)") }
            return .dot(axes: axes, normalize: try reader.bool("normalize", default: false))
        case "RepeatVector":
            return .repeatVector(count: try reader.int("n"))
        case "Reshape":
            return .reshape(shape: try reader.ints("target_shape"))
        case "Permute":
            return .permute(dims: try reader.ints("dims"))
        default:
            return nil
        }
    }

    /// Normalisations over one axis, taken as the last: `axis` -1 or `[-1]`, or the single positive
    /// axis tf.keras writes once it has resolved -1 (a positive axis that is not the last would be
    /// computed over the last axis all the same: such models are not supported).
    private static func lastAxis(_ reader: ConfigReader) throws {
        let axis = reader.config["axis"]
        let values = (axis as? [Any] ?? (axis.map { [$0] } ?? [-1])).compactMap { ($0 as? NSNumber)?.intValue }
        guard values.count == 1 else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "\(reader.className) option axis=\(String(describing: axis ?? "nothing")) is not supported (only the last axis)")
        }
    }
}
