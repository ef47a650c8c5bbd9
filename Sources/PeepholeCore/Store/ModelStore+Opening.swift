import Foundation
import GRDB

/// Opening a store for serving: read-only, checked before anything is served.
extension ModelStore {
    /// Opens `path` (a file name or a SQLite URI) read-only and checks its schema and its list of models.
    static func openReadOnly(_ path: String, configuration: Configuration) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        if let reason = try queue.read(StoreSchema.incompatibility) { throw PeepholeError.storeFailure(path: path, reason: reason) }
        // A store whose list of models cannot be read serves nothing: refuse it here, at start.
        _ = try queue.read(Self.versionNumbers)
        return queue
    }

    /// "database disk image is malformed" when the file is shorter than its SQLite header says
    /// (a truncated copy): caught at open, whichever pages the cut spared. Nil otherwise, when the
    /// header's size is not valid (SQLite then goes by the file's size), and when a write-ahead log
    /// is beside it (pages of an unfinished checkpoint are still there, and SQLite replays them).
    static func truncation(_ path: String) -> String? {
        if let wal = try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int, wal > 0 { return nil }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 100), header.count == 100,
              header.starts(with: Array("SQLite format 3\u{0}".utf8)),
              let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int else { return nil }
        func integer(_ offset: Int, _ count: Int) -> Int { header[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) } }
        let pageSize = integer(16, 2) == 1 ? 65536 : integer(16, 2)
        let valid = integer(24, 4) == integer(92, 4)
        return valid && integer(28, 4) * pageSize > size ? "database disk image is malformed" : nil
    }
}
