import PeepholeCore

/// The scheduling state of an `InferenceBatcher`: busy workers and queued requests by group.
/// Not thread-safe: the batcher keeps it under its lock, and resumes the continuations its
/// methods hand back after unlocking.
///
/// What keeps every queued request moving: a claimed group is one a worker will take next (after
/// waiting for it to fill); a request joins an unclaimed group only while every worker is busy
/// or a worker has just been started for that group; and a worker looks at the queue again
/// before it goes idle, so no unclaimed group is left without one.
struct BatchQueue {
    /// What requests must share to share a pass.
    struct Key: Hashable {
        var model: String
        var version: Int
        var pass: ForwardPass
        /// Each input's shape after the batch axis.
        var items: [[Int]]
        /// The event loop whose requests gather into this group (see `LoopRequests`); nil for
        /// groups that gather across loops, with or without a timer.
        var loop: ObjectIdentifier?
    }

    /// A request in the queue or in a pass. Its mutable fields are guarded by the batcher's lock.
    final class Waiting: @unchecked Sendable {
        /// Arrival order.
        let id: UInt64
        let key: Key
        /// One tensor per model input.
        let inputs: [Tensor]
        let arrived: ContinuousClock.Instant
        /// Whether it is still queued: false once taken into a pass or cancelled.
        var queued = true
        /// The suspended request, once it waits.
        var continuation: CheckedContinuation<[Tensor], any Error>?
        /// The result, when it came before the request began to wait.
        var outcome: Result<[Tensor], any Error>?

        init(id: UInt64, key: Key, inputs: [Tensor], arrived: ContinuousClock.Instant) {
            (self.id, self.key, self.inputs, self.arrived) = (id, key, inputs, arrived)
        }

        /// The sequences it brings.
        var rows: Int { inputs[0].shape[0] }
    }

    /// A worker waiting for its group to fill, and the timer that ends the wait at the deadline.
    struct Waker {
        /// Tells this wait from a later one on the same group (the timer may fire after it ended).
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
        let timer: Task<Void, Never>

        /// Ends the wait; the timer, if it is not what fired, is cancelled instead of sleeping on.
        func resume() {
            timer.cancel()
            continuation.resume()
        }
    }

    /// One group's queue.
    struct Group {
        let model: LoadedModel
        var requests: [Waiting] = []
        var sequences = 0
        var claimed = false
        /// The worker waiting for this group to fill: resumed when it fills, empties or times out.
        var waker: Waker?

        /// Queues `waiting`; returns the sequences the group then holds.
        @discardableResult
        mutating func add(_ waiting: Waiting) -> Int {
            requests.append(waiting)
            sequences += waiting.rows
            return sequences
        }

        /// Takes up to `maxSize` sequences — whole requests in arrival order, the first one
        /// whatever its size — and unclaims the group.
        mutating func take(maxSize: Int) -> [Waiting] {
            var count = 0
            var taken = 0
            for next in requests {
                guard count == 0 || taken + next.rows <= maxSize else { break }
                next.queued = false
                taken += next.rows
                count += 1
            }
            let batch = Array(requests.prefix(count))
            requests.removeFirst(count)
            sequences -= taken
            claimed = false
            waker = nil
            return batch
        }
    }

    /// What an arriving request does.
    enum Arrival {
        /// Run alone at once, on a worker it now holds.
        case runNow
        /// Hold a worker, wait for the group it heads (and has claimed) to fill, then run it.
        case lead(Waiting)
        /// Wait in the queue; resume `wake` (the group is full) after unlocking.
        case follow(Waiting, wake: Waker?)
    }

    /// The most workers busy at once.
    let workers: Int
    private var busy = 0
    private var groups: [Key: Group] = [:]
    private var lastID: UInt64 = 0

    init(workers: Int) { self.workers = workers }

    /// The requests queued now.
    var queued: Int { groups.values.reduce(0) { $0 + $1.requests.count } }

    /// Takes a free worker for a request of `rows` sequences that would run alone at once: no
    /// request queues (so none of its kind), and it would not wait for company. The request then
    /// needs no key or queue entry; false sends it through `arrive`. `gathering`: other requests
    /// its event loop has read may be about to join it.
    mutating func takeWorkerAtOnce(rows: Int, gathering: Bool, _ limits: InferenceBatcher.Limits) -> Bool {
        guard groups.isEmpty, busy < workers, !Self.waitsForCompany(rows: rows, gathering: gathering, limits) else { return false }
        busy += 1
        return true
    }

    /// Whether a request of `rows` sequences that heads its group waits for others to join it:
    /// for a timer, or while its event loop's other requests arrive.
    private static func waitsForCompany(rows: Int, gathering: Bool, _ limits: InferenceBatcher.Limits) -> Bool {
        (limits.maxDelayMicroseconds > 0 || gathering) && rows < limits.maxSize
    }

    /// Admits a request for `key`: with no group of its kind queued and a worker free, it takes
    /// the worker (and heads a new group when it waits for company); else it joins the group.
    mutating func arrive(_ model: LoadedModel, _ key: Key, _ inputs: [Tensor], _ limits: InferenceBatcher.Limits) -> Arrival {
        let waiting = Waiting(id: nextID(), key: key, inputs: inputs, arrived: .now)
        if let index = groups.index(forKey: key) {
            let full = groups.values[index].add(waiting) >= limits.maxSize
            return .follow(waiting, wake: full ? groups.values[index].waker.take() : nil)
        }
        let leads = busy < workers
        if leads {
            busy += 1
            if !Self.waitsForCompany(rows: waiting.rows, gathering: key.loop != nil, limits) { return .runNow }
        }
        var group = Group(model: model)
        group.add(waiting)
        group.claimed = leads
        groups[key] = group
        return leads ? .lead(waiting) : .follow(waiting, wake: nil)
    }

    /// Claims the unclaimed group whose oldest request came first, for a worker that is free
    /// again; nil releases the worker when no such group waits.
    mutating func pick() -> (key: Key, model: LoadedModel)? {
        guard let (key, group) = groups.filter({ !$0.value.claimed }).min(by: { $0.value.requests[0].id < $1.value.requests[0].id }) else {
            busy -= 1
            return nil
        }
        groups[key]!.claimed = true
        return (key, group.model)
    }

    /// Until when a worker should wait for claimed group `key` to fill: the moment its oldest
    /// request has waited `maxDelayMicroseconds`; nil when it should run now.
    func deadline(_ key: Key, _ limits: InferenceBatcher.Limits) -> ContinuousClock.Instant? {
        guard let group = groups[key], group.sequences < limits.maxSize, let head = group.requests.first else { return nil }
        let deadline = head.arrived + .microseconds(limits.maxDelayMicroseconds)
        return deadline > .now ? deadline : nil
    }

    /// The sequences group `key` holds now.
    func sequences(_ key: Key) -> Int { groups[key]?.sequences ?? 0 }

    /// Registers the worker waiting for claimed group `key` to fill.
    mutating func park(_ key: Key, _ waker: Waker) {
        groups[key]!.waker = waker
    }

    /// A fresh id for a wait.
    mutating func nextID() -> UInt64 {
        lastID += 1
        return lastID
    }

    /// The waker of wait `id` on `key`, if it is still waiting.
    mutating func wake(_ key: Key, id: UInt64) -> Waker? {
        guard groups[key]?.waker?.id == id else { return nil }
        return groups[key]!.waker.take()
    }

    /// Takes up to `maxSize` sequences of claimed group `key` — whole requests in arrival order,
    /// the first one whatever its size — and unclaims it. `spawn`: requests are left and a worker
    /// was free, so the caller holds one more worker and starts a task on it.
    mutating func take(_ key: Key, maxSize: Int) -> (batch: [Waiting], spawn: Bool) {
        guard let index = groups.index(forKey: key) else { return ([], false) }
        // In place: a copy of the group out of the dictionary would copy its array of requests.
        let batch = groups.values[index].take(maxSize: maxSize)
        guard !groups.values[index].requests.isEmpty else {
            groups.remove(at: index)
            return (batch, false)
        }
        guard busy < workers else { return (batch, false) }
        busy += 1
        return (batch, true)
    }

    /// After a request that held a worker ran its pass: whether to keep the worker for a new
    /// task because unclaimed requests wait (else it is released).
    mutating func handOff() -> Bool {
        if groups.values.contains(where: { !$0.claimed }) { return true }
        busy -= 1
        return false
    }

    /// Removes `waiting` if it is still queued; returns its continuation (to throw
    /// `CancellationError` into) and the waker of a claimed group it leaves empty.
    mutating func cancel(_ waiting: Waiting) -> (request: CheckedContinuation<[Tensor], any Error>?, waker: Waker?) {
        guard waiting.queued, var group = groups[waiting.key] else { return (nil, nil) }
        waiting.queued = false
        group.requests.removeAll { $0 === waiting }
        group.sequences -= waiting.rows
        var waker: Waker?
        if group.requests.isEmpty && !group.claimed {
            groups[waiting.key] = nil
        } else {
            if group.requests.isEmpty { waker = group.waker.take() }
            groups[waiting.key] = group
        }
        let continuation = waiting.continuation.take()
        if continuation == nil { waiting.outcome = .failure(CancellationError()) }
        return (continuation, waker)
    }
}
