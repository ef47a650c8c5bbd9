import NIOConcurrencyHelpers
import PeepholeCore
import PeepholeProtocols

/// Corpus activations, computed once per model version, layer and field and kept in memory
/// within `budgetBytes` (least recently used first out): the first unit statistics or match on a
/// layer runs the corpus (tens of milliseconds on the demo model), the next ones read from here.
/// In memory rather than in the store, because the store is served read-only and a new version
/// or corpus makes new keys anyway.
final class InspectorCache: CorpusActivationsSource {
    private struct Key: Hashable {
        var model: String
        var version: Int
        var layer: Int
        var field: String
        var corpus: [String]
    }

    private let registry: ModelRegistry
    private let budgetBytes: Int
    private let entries = NIOLockedValueBox<[(key: Key, value: CorpusActivations)]>([])

    /// A cache reading each model's corpus from `registry`, holding at most `budgetBytes` of activations.
    init(registry: ModelRegistry, budgetBytes: Int = 64 << 20) {
        self.registry = registry
        self.budgetBytes = budgetBytes
    }

    func activations(_ model: LoadedModel, layer: Int, field: String) throws -> CorpusActivations {
        let corpus = try registry.corpus(model.info.model)
        guard !corpus.isEmpty else {
            throw PeepholeError.notApplicable(field: "corpus", message: "model '\(model.info.model)' has no corpus; add texts with 'peephole corpus add'")
        }
        let key = Key(model: model.info.model, version: model.info.version, layer: layer, field: field, corpus: corpus.map(\.name))
        if let hit = entries.withLockedValue({ entries -> CorpusActivations? in
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry)
            return entry.value
        }) {
            return hit
        }
        let computed = try CorpusActivations.compute(model, layer: layer, field: field, corpus: corpus)
        entries.withLockedValue { entries in
            entries.removeAll { $0.key == key }
            entries.append((key, computed))
            while entries.count > 1, entries.reduce(0, { $0 + $1.value.values.count * 4 }) > budgetBytes { entries.removeFirst() }
        }
        return computed
    }
}
