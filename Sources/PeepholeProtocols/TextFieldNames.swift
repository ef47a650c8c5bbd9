import PeepholeCore

extension PeepholeError {
    /// This error with the field a serving protocol's client sent: the core encodes text as the
    /// Peephole API's `text` field and names a text row `text[i]`; `field` gives the client's
    /// name for the row index that follows `text` (`"[1]"`, or `""` for all of them).
    func renamingText(_ field: (_ row: Substring) -> String) -> PeepholeError {
        func renamed(_ name: String) -> String {
            name == "text" || name.hasPrefix("text[") ? field(name.dropFirst(4)) : name
        }
        switch self {
        case let .invalidInput(name, message): return .invalidInput(field: renamed(name), message: message)
        case let .notApplicable(name, message): return .notApplicable(field: renamed(name), message: message)
        default: return self
        }
    }
}
