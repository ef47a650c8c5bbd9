import ArgumentParser
import Foundation
import PeepholeCore
import PeepholeProtocols

/// `peephole`: import Keras models into a store, list them, run them, serve them.
@main
struct PeepholeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peephole",
        abstract: "An LSTM inference and introspection server for Keras models.",
        subcommands: [ImportCommand.self, ModelsCommand.self, PredictCommand.self, CorpusCommand.self, ServeCommand.self])
}

/// Options every store command takes.
struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite model store.")
    var store: String = "models/peephole.sqlite"
}

/// Runs `body`, turning core errors into one line on stderr and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as PeepholeError {
        FileHandle.standardError.write(Data("peephole: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import a .keras or .h5 model as the next version of a named model.")

    @Argument(help: "The Keras model file (.keras, or legacy .h5 from Keras 2 or 3).")
    var file: String

    @OptionGroup var options: StoreOptions

    @Option(help: "The model's name in the store.")
    var name: String

    @Option(help: "The vocabulary of a character model, in index order: a file (its characters, or a JSON array of tokens) or a literal string.")
    var vocabulary: String?

    func run() throws {
        try reportingErrors {
            let model = try KerasModelFile.read(path: file)
            let tokens = try vocabulary.map(Vocabulary.tokens(from:))
            let store = try ModelStore(path: options.store)
            let info = try store.importModel(model, name: name, vocabulary: tokens)
            print(info.summary)
            print("Stored in \(options.store)")
        }
    }
}

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "List the models in a store, their versions and layers.")

    @OptionGroup var options: StoreOptions

    func run() throws {
        try reportingErrors {
            let models = try ModelStore(path: options.store, access: .readOnly).models()
            if models.isEmpty { print("No models in \(options.store)") }
            for model in models {
                print("\(model.name): \(model.versions.count) version\(model.versions.count == 1 ? "" : "s")")
                for version in model.versions {
                    print("")
                    print(version.summary)
                    print("Imported \(version.importedAt), SHA-256 \(version.sourceSHA256)")
                }
                print("")
            }
        }
    }
}

struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Run a stored model on a JSON request and print the JSON response.")

    @OptionGroup var options: StoreOptions

    @Option(help: "The model (default: the only model in the store).")
    var model: String?

    @Option(help: "The version (default: the newest).")
    var version: Int?

    @Option(help: "The request: a JSON file {\"inputs\": ...} or {\"text\": [...]}, or - for standard input.")
    var input: String

    @Option(help: "Return this layer's output instead of the model's.")
    var layer: String?

    @Flag(help: "With --layer on an LSTM layer: also return its final hidden and cell states.")
    var states = false

    /// The same path as `POST /predict` and `POST /layers/{layer}/output`: decode, check against
    /// the model, run (here directly), encode.
    func run() async throws {
        do {
            let store = try ModelStore(path: options.store, access: .readOnly)
            let loaded = try store.load(model: try store.defaultModel(configured: model), version: version)
            let body: Data
            do {
                body = input == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: input))
            } catch {
                throw PeepholeError.unreadableFile(path: input, reason: "cannot read the request file")
            }
            let api = PeepholeAPI(limits: RequestLimits(), runner: DirectRunner())
            let bytes: [UInt8]
            if let layer {
                var request = try PeepholeJSON.decode(LayerOutputRequest.self, from: body, limits: api.limits)
                if states { request.askForStates() }
                bytes = try PeepholeJSON.encode(try await api.layerOutput(request, layer: layer, model: loaded))
            } else {
                guard !states else { throw PeepholeError.invalidInput(field: "--states", message: "needs --layer naming an LSTM layer") }
                bytes = try PeepholeJSON.encode(try await api.predict(try PeepholeJSON.decode(PredictRequest.self, from: body, limits: api.limits), model: loaded))
            }
            FileHandle.standardOutput.write(Data(bytes + [UInt8(ascii: "\n")]))
        } catch let error as PeepholeError {
            FileHandle.standardError.write(Data("peephole: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}
