extension ServerConfig.Key {
    /// The command-line flag that overrides this key: `--` and the key with dashes.
    public var flagName: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
}

extension ServerConfig {
    /// The settings given as flags in `arguments` (`--max-batch 10` or `--max-batch=10`, one per
    /// key of the configuration), as text for `resolve`. Every key is a flag, so none is listed
    /// twice; an unknown flag or one without a value is refused, naming it.
    public static func overrides(fromArguments arguments: [String]) throws -> [Key: String] {
        let keys = Dictionary(uniqueKeysWithValues: Key.allCases.map { ($0.flagName, $0) })
        var overrides: [Key: String] = [:]
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard let key = keys[parts[0]] else {
                throw ConfigError("unknown option '\(argument)' (settings: \(Key.allCases.map(\.flagName).joined(separator: ", ")))")
            }
            if parts.count == 2 {
                overrides[key] = parts[1]
            } else if let value = rest.popFirst() {
                overrides[key] = value
            } else {
                throw ConfigError("\(key.flagName): expected a value")
            }
        }
        return overrides
    }
}
