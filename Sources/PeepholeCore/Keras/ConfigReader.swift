import Foundation

/// Typed access to one layer's Keras configuration, with errors that name the layer and key.
struct ConfigReader {
    let layer: String
    let config: [String: Any]
    /// The layer's class, named in refusals of its options.
    var className = ""

    /// `option` as a refusal names it: `Conv1D option padding`.
    private func option(_ key: String) -> String {
        className.isEmpty ? "option \(key)" : "\(className) option \(key)"
    }

    func int(_ key: String) throws -> Int {
        guard let value = config[key] as? NSNumber, let int = Int(exactly: value.doubleValue), int > 0 else {
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key)) must be a positive integer, got \(String(describing: config[key] ?? "nothing"))")
        }
        return int
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = config[key], !(value is NSNull) else { return fallback }
        guard let bool = value as? Bool else {
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key)) must be true or false, got \(value)")
        }
        return bool
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        guard let value = config[key], !(value is NSNull) else { return fallback }
        guard let number = value as? NSNumber else {
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key)) must be a number, got \(value)")
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
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key)) must name a built-in activation, got a custom object")
        }
        guard let activation = Activation.keras(name, kerasMajor: kerasMajor) else {
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key))=\(name) is not supported")
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

extension ConfigReader {
    /// A positive integer given as a number or a one-element list (`kernel_size: [3]`).
    func size(_ key: String, default fallback: Int? = nil) throws -> Int {
        if let list = config[key] as? [Any] {
            guard list.count == 1 else { throw PeepholeError.unsupported(layer: layer, detail: "\(option(key))=\(list) is not supported (one axis)") }
            return try ConfigReader(layer: layer, config: [key: list[0]], className: className).int(key)
        }
        if let fallback, config[key] == nil || config[key] is NSNull { return fallback }
        return try int(key)
    }

    /// A string option that must be one of `allowed`.
    func choice(_ key: String, _ allowed: [String], default fallback: String) throws -> String {
        guard let value = config[key], !(value is NSNull) else { return fallback }
        guard let string = value as? String, allowed.contains(string) else {
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key))=\(value) is not supported (\(allowed.joined(separator: ", ")))")
        }
        return string
    }

    /// A list of integers (`target_shape`, `dims`).
    func ints(_ key: String) throws -> [Int] {
        guard let list = config[key] as? [Any], case let values = list.compactMap({ ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }),
              values.count == list.count else {
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key)) must be a list of integers, got \(String(describing: config[key] ?? "nothing"))")
        }
        return values
    }

    /// Refuses `key` unless it is absent, null or equals `expected`.
    func require(_ key: String, equals expected: Any, as text: String) throws {
        guard let value = config[key], !(value is NSNull) else { return }
        if "\(value)" != "\(expected)" {
            throw PeepholeError.unsupported(layer: layer, detail: "\(option(key))=\(value) is not supported (only \(text))")
        }
    }
}
