import GRDB

/// The model store's schema, created and upgraded by migrations. A migration, once released,
/// is never edited: later changes are new migrations.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: models, versions, layers, tensors") { db in
            try db.execute(sql: """
                CREATE TABLE model (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE version (
                    id INTEGER PRIMARY KEY,
                    model_id INTEGER NOT NULL REFERENCES model(id) ON DELETE CASCADE,
                    number INTEGER NOT NULL,
                    imported_at TEXT NOT NULL,
                    source_file TEXT NOT NULL,
                    source_sha256 TEXT NOT NULL,
                    format TEXT NOT NULL,
                    keras_version TEXT NOT NULL,
                    input_shape TEXT NOT NULL,   -- JSON, batch axis excluded, null for any size
                    input_dtype TEXT NOT NULL,   -- float32 | int32
                    vocabulary TEXT,             -- JSON array of tokens in index order
                    UNIQUE (model_id, number)
                );
                CREATE TABLE layer (
                    id INTEGER PRIMARY KEY,
                    version_id INTEGER NOT NULL REFERENCES version(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    class_name TEXT NOT NULL,
                    config TEXT NOT NULL,        -- Keras' own {"class_name", "config"} JSON
                    output_shape TEXT NOT NULL,  -- JSON, batch axis excluded
                    parameter_count INTEGER NOT NULL,
                    UNIQUE (version_id, position),
                    UNIQUE (version_id, name)
                );
                CREATE TABLE tensor (
                    id INTEGER PRIMARY KEY,
                    layer_id INTEGER NOT NULL REFERENCES layer(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    name TEXT NOT NULL,          -- kernel, recurrent_kernel, bias, forward/kernel, embeddings, …
                    shape TEXT NOT NULL,         -- JSON
                    data BLOB NOT NULL,          -- float32 little-endian, row-major
                    sha256 TEXT NOT NULL,        -- of data, checked on load
                    UNIQUE (layer_id, position)
                );
                """)
        }
        migrator.registerMigration("v2: corpus") { db in
            try db.execute(sql: """
                CREATE TABLE corpus_text (
                    id INTEGER PRIMARY KEY,
                    model_id INTEGER NOT NULL REFERENCES model(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,          -- the file name it was added from
                    text TEXT NOT NULL,
                    added_at TEXT NOT NULL,
                    UNIQUE (model_id, name)
                );
                """)
        }
        return migrator
    }

    /// Why this binary cannot use the store behind `db`, or nil when it can: a store written by a
    /// newer Peephole (migrations this binary does not know), an older or foreign one, or one
    /// whose tables lack a column this binary's migrations create.
    static func incompatibility(_ db: Database) throws -> String? {
        if let newer = try newerSchema(db) { return newer }
        if try migrator.appliedIdentifiers(db).isEmpty { return "not a Peephole model store (import a model into it first)" }
        guard try migrator.hasCompletedMigrations(db) else {
            return "its schema is older than this binary's; open it once with 'peephole import' to upgrade it"
        }
        for (table, columns) in try expectedColumns() {
            guard try db.tableExists(table) else { return "table '\(table)' is missing" }
            let present = try db.columns(in: table)
            for column in columns where !present.contains(where: { $0.name == column.name && $0.type == column.type }) {
                return "table '\(table)' has no column '\(column.name)' of type \(column.type)"
            }
        }
        return nil
    }

    /// Why the store behind `db` is too new for this binary, or nil: it holds migrations this
    /// binary does not know. Such a store is neither served nor written, because a newer
    /// migration may change what existing columns mean (tensor encoding, gate order), which no
    /// checksum reveals.
    static func newerSchema(_ db: Database) throws -> String? {
        let migrator = Self.migrator
        let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
        guard !unknown.isEmpty else { return nil }
        return "it was written by a newer Peephole (schema migrations this binary does not know: "
            + unknown.map { "'\($0)'" }.joined(separator: ", ") + "); use a newer peephole"
    }

    /// Every table and its columns as this binary's migrations create them, read from an
    /// in-memory store, so the schema is written down once.
    private static func expectedColumns() throws -> [(String, [ColumnInfo])] {
        let reference = try DatabaseQueue()
        try migrator.migrate(reference)
        return try reference.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .map { ($0, try db.columns(in: $0)) }
        }
    }
}
