import ArgumentParser
import Foundation
import PeepholeCore

/// `peephole corpus`: the texts stored with a model, which the inspector's unit statistics and
/// matches run over.
struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus", abstract: "Store texts with a model, or list them.",
        subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Store text files with a model, all or none (one transaction).")

        @OptionGroup var options: StoreOptions

        @Option(help: "The model the texts belong to.")
        var model: String

        @Argument(help: "UTF-8 text files; each is stored under its file name.")
        var files: [String]

        func run() throws {
            try reportingErrors {
                let texts = try files.map { path in
                    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                        throw PeepholeError.unreadableFile(path: path, reason: "not a readable UTF-8 text file")
                    }
                    return (name: URL(fileURLWithPath: path).lastPathComponent, text: text)
                }
                try ModelStore(path: options.store).addCorpus(model: model, texts: texts)
                for (name, text) in texts { print("\(name): \(text.unicodeScalars.count) characters") }
                print("Stored with model \(model) in \(options.store)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List a model's corpus.")

        @OptionGroup var options: StoreOptions

        @Option(help: "The model.")
        var model: String

        func run() throws {
            try reportingErrors {
                let corpus = try ModelStore(path: options.store, access: .readOnly).corpus(model: model)
                if corpus.isEmpty { print("No corpus stored with model \(model)") }
                for text in corpus { print("\(text.name): \(text.text.unicodeScalars.count) characters, added \(text.addedAt)") }
            }
        }
    }
}
