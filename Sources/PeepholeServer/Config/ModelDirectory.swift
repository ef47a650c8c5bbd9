import Foundation

extension ServerConfig {
    /// The store to serve: `store`, or, when `model_dir` is set (KServe's storage initializer
    /// puts `storageUri` at `/mnt/models`), the store found there: `peephole.sqlite` when the
    /// directory holds one, else its only `*.sqlite` file. A `model_dir` naming a file is that store.
    public func storePath() throws -> String {
        guard let modelDir else { return store }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelDir, isDirectory: &isDirectory) else {
            throw ConfigError("model_dir \(modelDir): no such directory")
        }
        guard isDirectory.boolValue else { return modelDir }
        let directory = URL(fileURLWithPath: modelDir)
        let preferred = directory.appendingPathComponent("peephole.sqlite").path
        if FileManager.default.fileExists(atPath: preferred) { return preferred }
        let stores = (try? FileManager.default.contentsOfDirectory(atPath: modelDir))?
            .filter { $0.hasSuffix(".sqlite") && !$0.hasPrefix(".") }.sorted() ?? []
        guard stores.count == 1 else {
            throw ConfigError("model_dir \(modelDir): expected peephole.sqlite or exactly one *.sqlite store, found "
                + (stores.isEmpty ? "none" : stores.joined(separator: ", ")))
        }
        return directory.appendingPathComponent(stores[0]).path
    }
}
