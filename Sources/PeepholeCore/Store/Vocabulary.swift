import Foundation

/// Reads a character model's vocabulary as given on the command line.
public enum Vocabulary {
    /// The tokens in `source`: the contents of the file it names, or the string itself. A JSON
    /// array of strings is taken token by token; other text is split into Unicode scalars, so a
    /// vocabulary may contain "\n" and "\r" as separate characters.
    public static func tokens(from source: String) throws -> [String] {
        var text = source
        if FileManager.default.fileExists(atPath: source) {
            guard let data = FileManager.default.contents(atPath: source), let contents = String(data: data, encoding: .utf8) else {
                throw PeepholeError.unreadableFile(path: source, reason: "not a UTF-8 text file")
            }
            text = contents
        }
        if let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] {
            return array
        }
        return text.unicodeScalars.map { String($0) }
    }
}
