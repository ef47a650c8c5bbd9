import Foundation
import NIOConcurrencyHelpers
import PeepholeCore
import PeepholeProtocols

/// The open stateful sessions, in memory: each pins the model version it was opened on and
/// carries every LSTM layer's state between steps. Sessions expire after `idleTimeout` unused;
/// when `limit` are open, opening another is refused (429) rather than evicting one whose
/// owner may still need it.
final class SessionRegistry: Sendable {
    /// One session: its pinned model and its state, behind a lock of its own so that steps on
    /// different sessions run in parallel while steps on one session run in order.
    final class Entry: SessionHolder {
        /// The session's id.
        let id: String
        let model: LoadedModel
        private let state: NIOLockedValueBox<SessionState>
        /// Whether a V2 sequence on this session has ended (`sequence_end`): it stays readable
        /// until it expires, but takes no more steps without a new `sequence_start`.
        let ended = NIOLockedValueBox(false)
        /// When the session was last used, under the registry's lock.
        fileprivate let lastUsed: NIOLockedValueBox<ContinuousClock.Instant>

        fileprivate init(id: String, model: LoadedModel, now: ContinuousClock.Instant) {
            self.id = id
            self.model = model
            self.state = NIOLockedValueBox(SessionState(id: id))
            self.lastUsed = NIOLockedValueBox(now)
        }

        /// Runs `body` on the session's state, alone.
        func withState<T>(_ body: (inout SessionState) throws -> T) rethrows -> T {
            try state.withLockedValue(body)
        }
    }

    private let limit: Int
    private let idleTimeout: Duration
    /// The current time; a test moves it by hand.
    private let now: @Sendable () -> ContinuousClock.Instant
    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    /// A registry holding at most `limit` sessions, each expiring after `idleSeconds` unused.
    init(limit: Int, idleSeconds: Int, now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.limit = limit
        self.idleTimeout = .seconds(idleSeconds)
        self.now = now
    }

    /// Seconds a session may stay unused.
    var idleSeconds: Int { Int(idleTimeout.components.seconds) }

    /// Opens a session on `model`; throws `tooManySessions` when full.
    func open(_ model: LoadedModel) throws -> Entry {
        try open(model, id: UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
    }

    /// Opens the session `id` on `model`, replacing an open session of that id (a V2 sequence
    /// started again); throws `tooManySessions` when full.
    func open(_ model: LoadedModel, id: String) throws -> Entry {
        try locked { entries in
            removeExpired(&entries)
            guard entries.count < limit || entries[id] != nil else {
                let oldest = entries.values.map { $0.lastUsed.withLockedValue { $0 } }.min() ?? now()
                let wait = max(1, Int((idleTimeout - (now() - oldest)).components.seconds))
                throw ServerError.tooManySessions(limit: limit, retryAfter: wait)
            }
            let entry = Entry(id: id, model: model, now: now())
            entries[id] = entry
            return entry
        }
    }

    /// The open session `id`, marked as used now; throws `unknownSession` if there is none.
    func session(_ id: String) throws -> Entry {
        try locked { entries in
            removeExpired(&entries)
            guard let entry = entries[id] else { throw ServerError.unknownSession(id) }
            entry.lastUsed.withLockedValue { $0 = now() }
            return entry
        }
    }

    /// Closes session `id`; throws `unknownSession` if there is none.
    func close(_ id: String) throws {
        try locked { entries in
            removeExpired(&entries)
            guard entries.removeValue(forKey: id) != nil else { throw ServerError.unknownSession(id) }
        }
    }

    /// The number of open sessions.
    var count: Int {
        locked { entries in
            removeExpired(&entries)
            return entries.count
        }
    }

    private func removeExpired(_ entries: inout [String: Entry]) {
        let current = now()
        entries = entries.filter { current - $0.value.lastUsed.withLockedValue { $0 } < idleTimeout }
    }

    private func locked<T>(_ body: (inout [String: Entry]) throws -> T) rethrows -> T {
        try entries.withLockedValue(body)
    }
}
