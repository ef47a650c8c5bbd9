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
        return migrator
    }
}
