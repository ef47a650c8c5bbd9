import Foundation

/// Turns one Keras layer configuration (`{"class_name": …, "config": {…}}`) into a `LayerKind`,
/// refusing anything Peephole does not compute with a message naming the layer and the option.
///
/// Import and load both go through here, so the store keeps Keras' own configuration and one
/// piece of code decides what it means.
public enum KerasLayerParser {
    /// The layer classes Peephole computes.
    public static let supportedClasses = [
        "Embedding", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "Dense", "TimeDistributed", "Dropout", "SpatialDropout1D",
        "GaussianNoise", "GaussianDropout", "Masking", "Activation", "Flatten", "Conv1D", "MaxPooling1D", "AveragePooling1D",
        "GlobalMaxPooling1D", "GlobalAveragePooling1D", "LayerNormalization", "BatchNormalization", "Concatenate", "Add",
        "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot", "RepeatVector", "Reshape", "Permute",
    ]

    /// Parses `config` of a layer of `className` written by Keras `kerasMajor` (2 or 3).
    public static func parse(className: String, config: [String: Any], kerasMajor: Int) throws -> LayerKind {
        let reader = ConfigReader(layer: config["name"] as? String ?? className, config: config, className: className)
        try reader.requireFloat32()
        switch className {
        case "Embedding":
            return .embedding(
                inputDim: try reader.int("input_dim"), outputDim: try reader.int("output_dim"),
                maskZero: try reader.bool("mask_zero", default: false))
        case "LSTM", "GRU", "SimpleRNN":
            switch try recurrent(className, reader, kerasMajor: kerasMajor, insideBidirectional: false) {
            case let .lstm(options): return .lstm(options)
            case let .gru(options): return .gru(options)
            case let .simpleRNN(options): return .simpleRNN(options)
            }
        case "Bidirectional":
            return try bidirectional(reader, kerasMajor: kerasMajor)
        case "Dense":
            return try dense(reader, kerasMajor: kerasMajor, timeDistributed: false)
        case "TimeDistributed":
            let (innerClass, inner) = try reader.wrapped("layer")
            guard innerClass == "Dense" else {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "TimeDistributed(\(innerClass)) is not supported, only TimeDistributed(Dense)")
            }
            let innerReader = ConfigReader(layer: reader.layer, config: inner, className: innerClass)
            try innerReader.requireFloat32()
            return try dense(innerReader, kerasMajor: kerasMajor, timeDistributed: true)
        case "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout":
            return .dropout
        case "Masking":
            return .masking(value: Float(try reader.double("mask_value", default: 0)))
        case "Activation":
            return .activation(try reader.activation("activation", kerasMajor: kerasMajor))
        case "Flatten":
            try reader.require("data_format", equals: "channels_last", as: "channels_last")
            return .flatten
        default:
            if let kind = try shapeLayer(className, reader, kerasMajor: kerasMajor) { return kind }
            throw PeepholeError.unsupported(
                layer: reader.layer,
                detail: "layer class \(className) is not supported (supported: \(supportedClasses.joined(separator: ", ")))")
        }
    }

    /// The options of an LSTM, GRU or SimpleRNN configuration.
    static func recurrent(_ className: String, _ reader: ConfigReader, kerasMajor: Int, insideBidirectional: Bool) throws -> RecurrentKind {
        if try reader.bool("time_major", default: false) {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "\(className) option time_major=true is not supported")
        }
        let returnSequences = try reader.bool("return_sequences", default: false)
        let units = try reader.int("units")
        let activation = try reader.activation("activation", kerasMajor: kerasMajor, default: "tanh")
        let useBias = try reader.bool("use_bias", default: true)
        let goBackwards = try reader.bool("go_backwards", default: false)
        let returnState = try reader.bool("return_state", default: false)
        // Keras forces zero outputs on masked steps inside Bidirectional when it returns sequences.
        let zeroOutput = insideBidirectional ? returnSequences : try reader.bool("zero_output_for_mask", default: false)
        guard activation != .softmax else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "softmax as a \(className) activation is not supported")
        }
        if className == "SimpleRNN" {
            return .simpleRNN(SimpleRNNOptions(units: units, activation: activation, useBias: useBias, returnSequences: returnSequences,
                                               goBackwards: goBackwards, zeroOutputForMask: zeroOutput, returnState: returnState))
        }
        let recurrentActivation = try reader.activation("recurrent_activation", kerasMajor: kerasMajor, default: "sigmoid")
        guard recurrentActivation != .softmax else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "softmax as a \(className) recurrent_activation is not supported")
        }
        if className == "GRU" {
            return .gru(GRUOptions(units: units, activation: activation, recurrentActivation: recurrentActivation, useBias: useBias,
                                   returnSequences: returnSequences, goBackwards: goBackwards, zeroOutputForMask: zeroOutput,
                                   returnState: returnState, resetAfter: try reader.bool("reset_after", default: true)))
        }
        return .lstm(LSTMOptions(units: units, activation: activation, recurrentActivation: recurrentActivation, useBias: useBias,
                                 returnSequences: returnSequences, goBackwards: goBackwards, zeroOutputForMask: zeroOutput,
                                 returnState: returnState))
    }

    private static func bidirectional(_ reader: ConfigReader, kerasMajor: Int) throws -> LayerKind {
        let (innerClass, inner) = try reader.wrapped("layer")
        guard ["LSTM", "GRU", "SimpleRNN"].contains(innerClass) else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional(\(innerClass)) is not supported, only Bidirectional(LSTM), Bidirectional(GRU) and Bidirectional(SimpleRNN)")
        }
        guard let mode = reader.config["merge_mode"] as? String else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional option merge_mode=None is not supported")
        }
        guard let merge = MergeMode(rawValue: mode) else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional option merge_mode=\(mode) is not supported")
        }
        let innerReader = ConfigReader(layer: reader.layer, config: inner, className: innerClass)
        try innerReader.requireFloat32()
        let forward = try recurrent(innerClass, innerReader, kerasMajor: kerasMajor, insideBidirectional: true)
        var backward = forward.flipped
        if reader.config["backward_layer"] is [String: Any] {
            let (backwardClass, backwardConfig) = try reader.wrapped("backward_layer")
            guard backwardClass == innerClass else {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional backward_layer \(backwardClass) is not supported with a forward \(innerClass)")
            }
            let backwardReader = ConfigReader(layer: reader.layer, config: backwardConfig, className: backwardClass)
            try backwardReader.requireFloat32()
            backward = try recurrent(backwardClass, backwardReader, kerasMajor: kerasMajor, insideBidirectional: true)
        }
        guard merge == .concat || forward.units == backward.units else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "merge_mode=\(mode) needs equal units in both directions")
        }
        if case let .lstm(forwardOptions) = forward, case let .lstm(backwardOptions) = backward {
            return .bidirectional(forward: forwardOptions, backward: backwardOptions, merge: merge)
        }
        return .bidirectionalRNN(forward: forward, backward: backward, merge: merge)
    }

    private static func dense(_ reader: ConfigReader, kerasMajor: Int, timeDistributed: Bool) throws -> LayerKind {
        if let rank = reader.config["lora_rank"] as? Int, rank > 0 {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "Dense option lora_rank=\(rank) is not supported")
        }
        return .dense(
            units: try reader.int("units"),
            activation: try reader.activation("activation", kerasMajor: kerasMajor),
            useBias: try reader.bool("use_bias", default: true),
            timeDistributed: timeDistributed)
    }
}

extension RecurrentKind {
    /// The same layer processing the sequence the other way: a Bidirectional's default backward layer.
    var flipped: RecurrentKind {
        switch self {
        case var .lstm(options): options.goBackwards.toggle(); return .lstm(options)
        case var .gru(options): options.goBackwards.toggle(); return .gru(options)
        case var .simpleRNN(options): options.goBackwards.toggle(); return .simpleRNN(options)
        }
    }
}
