import Foundation

/// Turns one Keras layer configuration (`{"class_name": …, "config": {…}}`) into a `LayerKind`,
/// refusing anything Peephole does not compute with a message naming the layer and the option.
///
/// Import and load both go through here, so the store keeps Keras' own configuration and one
/// piece of code decides what it means.
public enum KerasLayerParser {
    /// The layer classes Peephole computes.
    public static let supportedClasses = [
        "Embedding", "LSTM", "Bidirectional", "Dense", "TimeDistributed", "Dropout", "Masking", "Activation", "Flatten",
    ]

    /// Parses `config` of a layer of `className` written by Keras `kerasMajor` (2 or 3).
    public static func parse(className: String, config: [String: Any], kerasMajor: Int) throws -> LayerKind {
        let reader = ConfigReader(layer: config["name"] as? String ?? className, config: config)
        try reader.requireFloat32()
        switch className {
        case "Embedding":
            return .embedding(
                inputDim: try reader.int("input_dim"), outputDim: try reader.int("output_dim"),
                maskZero: try reader.bool("mask_zero", default: false))
        case "LSTM":
            return .lstm(try lstmOptions(reader, kerasMajor: kerasMajor, insideBidirectional: false))
        case "Bidirectional":
            return try bidirectional(reader, kerasMajor: kerasMajor)
        case "Dense":
            return try dense(reader, kerasMajor: kerasMajor, timeDistributed: false)
        case "TimeDistributed":
            let (innerClass, inner) = try reader.wrapped("layer")
            guard innerClass == "Dense" else {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "TimeDistributed(\(innerClass)) is not supported, only TimeDistributed(Dense)")
            }
            let innerReader = ConfigReader(layer: reader.layer, config: inner)
            try innerReader.requireFloat32()
            return try dense(innerReader, kerasMajor: kerasMajor, timeDistributed: true)
        case "Dropout":
            return .dropout
        case "Masking":
            return .masking(value: Float(try reader.double("mask_value", default: 0)))
        case "Activation":
            return .activation(try reader.activation("activation", kerasMajor: kerasMajor))
        case "Flatten":
            let format = config["data_format"] as? String ?? "channels_last"
            guard format == "channels_last" else {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "Flatten option data_format=\(format) is not supported")
            }
            return .flatten
        default:
            throw PeepholeError.unsupported(
                layer: reader.layer,
                detail: "layer class \(className) is not supported (supported: \(supportedClasses.joined(separator: ", ")))")
        }
    }

    private static func lstmOptions(_ reader: ConfigReader, kerasMajor: Int, insideBidirectional: Bool) throws -> LSTMOptions {
        if try reader.bool("return_state", default: false) {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "LSTM option return_state=true is not supported in a model (ask for states in the request instead)")
        }
        if try reader.bool("time_major", default: false) {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "LSTM option time_major=true is not supported")
        }
        let returnSequences = try reader.bool("return_sequences", default: false)
        let options = LSTMOptions(
            units: try reader.int("units"),
            activation: try reader.activation("activation", kerasMajor: kerasMajor, default: "tanh"),
            recurrentActivation: try reader.activation("recurrent_activation", kerasMajor: kerasMajor, default: "sigmoid"),
            useBias: try reader.bool("use_bias", default: true),
            returnSequences: returnSequences,
            goBackwards: try reader.bool("go_backwards", default: false),
            // Keras forces zero outputs on masked steps inside Bidirectional when it returns sequences.
            zeroOutputForMask: insideBidirectional ? returnSequences : try reader.bool("zero_output_for_mask", default: false))
        guard options.activation != .softmax, options.recurrentActivation != .softmax else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "softmax as an LSTM activation is not supported")
        }
        return options
    }

    private static func bidirectional(_ reader: ConfigReader, kerasMajor: Int) throws -> LayerKind {
        let (innerClass, inner) = try reader.wrapped("layer")
        guard innerClass == "LSTM" else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional(\(innerClass)) is not supported, only Bidirectional(LSTM)")
        }
        guard let mode = reader.config["merge_mode"] as? String else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional option merge_mode=None is not supported")
        }
        guard let merge = MergeMode(rawValue: mode) else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional option merge_mode=\(mode) is not supported")
        }
        let innerReader = ConfigReader(layer: reader.layer, config: inner)
        try innerReader.requireFloat32()
        let forward = try lstmOptions(innerReader, kerasMajor: kerasMajor, insideBidirectional: true)
        var backward = forward
        backward.goBackwards = !forward.goBackwards
        if reader.config["backward_layer"] is [String: Any] {
            let (backwardClass, backwardConfig) = try reader.wrapped("backward_layer")
            guard backwardClass == "LSTM" else {
                throw PeepholeError.unsupported(layer: reader.layer, detail: "Bidirectional backward_layer \(backwardClass) is not supported")
            }
            let backwardReader = ConfigReader(layer: reader.layer, config: backwardConfig)
            try backwardReader.requireFloat32()
            backward = try lstmOptions(backwardReader, kerasMajor: kerasMajor, insideBidirectional: true)
        }
        guard merge == .concat || forward.units == backward.units else {
            throw PeepholeError.unsupported(layer: reader.layer, detail: "merge_mode=\(mode) needs equal units in both directions")
        }
        return .bidirectional(forward: forward, backward: backward, merge: merge)
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

/// Typed access to one layer's Keras configuration, with errors that name the layer and key.
struct ConfigReader {
    let layer: String
    let config: [String: Any]

    func int(_ key: String) throws -> Int {
        guard let value = config[key] as? NSNumber, let int = Int(exactly: value.doubleValue), int > 0 else {
            throw PeepholeError.unsupported(layer: layer, detail: "option \(key) must be a positive integer, got \(String(describing: config[key] ?? "nothing"))")
        }
        return int
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = config[key], !(value is NSNull) else { return fallback }
        guard let bool = value as? Bool else {
            throw PeepholeError.unsupported(layer: layer, detail: "option \(key) must be true or false, got \(value)")
        }
        return bool
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        guard let value = config[key], !(value is NSNull) else { return fallback }
        guard let number = value as? NSNumber else {
            throw PeepholeError.unsupported(layer: layer, detail: "option \(key) must be a number, got \(value)")
        }
        return number.doubleValue
    }

    func activation(_ key: String, kerasMajor: Int, default fallback: String = "linear") throws -> Activation {
        let value = config[key]
        let name: String
        switch value {
        case nil, is NSNull: name = fallback
        case let string as String: name = string
        default:
            throw PeepholeError.unsupported(layer: layer, detail: "option \(key) must name a built-in activation, got a custom object")
        }
        guard let activation = Activation.keras(name, kerasMajor: kerasMajor) else {
            throw PeepholeError.unsupported(layer: layer, detail: "option \(key)=\(name) is not supported")
        }
        return activation
    }

    /// The class name and config of a wrapped layer (`TimeDistributed.layer`, `Bidirectional.layer`).
    func wrapped(_ key: String) throws -> (String, [String: Any]) {
        guard let wrapped = config[key] as? [String: Any], let className = wrapped["class_name"] as? String,
              let inner = wrapped["config"] as? [String: Any] else {
            throw PeepholeError.unsupported(layer: layer, detail: "missing wrapped layer '\(key)'")
        }
        return (className, inner)
    }

    /// Refuses layers computed in another precision than float32 (mixed precision policies).
    func requireFloat32() throws {
        let name: String? = switch config["dtype"] {
        case let string as String: string
        case let policy as [String: Any]: (policy["config"] as? [String: Any])?["name"] as? String
        default: nil
        }
        if let name, name != "float32" {
            throw PeepholeError.unsupported(layer: layer, detail: "dtype \(name) is not supported, only float32")
        }
    }
}
