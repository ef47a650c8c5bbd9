import Foundation
import GRDB

/// A text stored with a model: what the inspector's unit statistics and matches run over.
public struct CorpusText: Sendable, Equatable {
    /// The name it was added under (its file name).
    public var name: String
    /// The text.
    public var text: String
    /// When it was added (ISO 8601, UTC).
    public var addedAt: String
}

extension ModelStore {
    /// Stores `texts` with model `model`, all or none (one transaction). A name the model's corpus
    /// already holds is refused.
    public func addCorpus(model: String, texts: [(name: String, text: String)], now: Date = Date()) throws {
        let addedAt = ISO8601DateFormatter().string(from: now)
        try write { db in
            guard let modelID = try Int64.fetchOne(db, sql: "SELECT id FROM model WHERE name = ?", arguments: [model]) else {
                throw PeepholeError.unknownModel(model)
            }
            for (name, text) in texts {
                guard !text.isEmpty else { throw PeepholeError.invalidInput(field: name, message: "the text is empty") }
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM corpus_text WHERE model_id = ? AND name = ?", arguments: [modelID, name]) == true {
                    throw PeepholeError.invalidInput(field: name, message: "model '\(model)' already has a corpus text named '\(name)'")
                }
                try db.execute(sql: "INSERT INTO corpus_text (model_id, name, text, added_at) VALUES (?, ?, ?, ?)",
                               arguments: [modelID, name, text, addedAt])
            }
        }
    }

    /// The corpus of model `model`, in the order it was added.
    public func corpus(model: String) throws -> [CorpusText] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT corpus_text.name, corpus_text.text, corpus_text.added_at FROM corpus_text
                JOIN model ON model.id = corpus_text.model_id WHERE model.name = ? ORDER BY corpus_text.id
                """, arguments: [model]).map { CorpusText(name: $0["name"], text: $0["text"], addedAt: $0["added_at"]) }
        }
    }
}
