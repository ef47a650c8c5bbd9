import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import PeepholeCore

/// Runs inference requests for the same model version together as one forward pass, so that
/// under load the matrix products of a step cover many sequences (GEMM) instead of one (GEMV).
///
/// Requests share a pass only when they are for the same model version, the same pass (whole
/// model or one layer) and the same shape per sequence of every input (`shape.dropFirst()`):
/// requests with other step counts or widths wait in groups of their own and are never padded into one batch, since
/// padding would change what an LSTM computes. At most `workers` passes run at once. A request
/// that arrives while a worker is free runs at once, in its own task (no thread hop, no added
/// latency when idle) — unless its event loop has read other requests it has not answered yet
/// (`LoopRequests`): then it heads a group of that loop's requests, lets the loop run the others
/// up to the batcher (yielding while the group grows, without a timer) and runs them as one pass.
/// Requests that arrive while every worker is busy queue; the next free
/// worker takes the group whose oldest request came first and runs up to `maxSize` of its
/// sequences — whole requests in arrival order, a larger request alone — as one pass, then hands
/// each request its rows of the output. With `maxDelayMicroseconds` > 0, a worker with fewer than
/// `maxSize` sequences waits until the group fills or its oldest request has waited that long.
///
/// A pass runs synchronously in the task that took it (on the event loop that read the request,
/// under `peephole serve`) unless one of its requests alone is long (`offloadFLOPs`): that pass
/// runs on NIO's thread pool while the task waits, so the event loops keep reading the requests
/// that will share the next pass. When the request that ran a pass returns while others queue,
/// a new task takes over its worker. Every queued request is one the server has in flight, and
/// graceful shutdown waits for those, so the batcher needs no service of its own.
package final class InferenceBatcher: Sendable {
    /// How large one model's passes may grow, and how long a request may wait for that.
    package struct Limits: Sendable, Equatable {
        /// The most sequences in one pass; 1 turns batching off.
        var maxSize: Int
        /// How long a group's oldest request may wait for others to join it, in microseconds.
        var maxDelayMicroseconds: Int
    }

    /// Computes a pass over (stacked) inputs, one per model input; tests replace it to watch or fail passes.
    package typealias Compute = @Sendable (LoadedModel, ForwardPass, [Tensor]) throws -> [Tensor]

    /// What the batcher has done so far.
    struct Statistics: Sendable, Equatable {
        /// Requests admitted (queued or run).
        var requests = 0
        /// Forward passes run.
        var passes = 0
        /// Requests that shared their pass with at least one other request.
        var sharedRequests = 0
        /// Requests queued now (a waiting worker's own request included).
        var queued = 0
    }

    /// The most passes running at once.
    let workers: Int
    private let limits: Limits
    private let modelLimits: [String: Limits]
    private let metrics: ServerMetrics?
    private let compute: Compute
    /// Passes with a request of at least this many floating-point operations (estimated) leave the event loop.
    private let offloadFLOPs: Int
    /// The queue and the counters, under one lock.
    private let state: NIOLockedValueBox<State>

    private struct State {
        var queue: BatchQueue
        var counters = Statistics()
    }

    /// A batcher with `workers` workers, `limits` for every model but those in `modelLimits`;
    /// passes are recorded in `metrics`.
    package init(workers: Int, limits: Limits, modelLimits: [String: Limits] = [:], metrics: ServerMetrics? = nil,
         offloadFLOPs: Int = InferenceBatcher.defaultOffloadFLOPs, compute: @escaping Compute = InferenceBatcher.forward) {
        precondition(workers > 0 && limits.maxSize > 0, "a batcher needs a worker and room for a sequence")
        self.workers = workers
        self.state = NIOLockedValueBox(State(queue: BatchQueue(workers: workers)))
        self.limits = limits
        self.modelLimits = modelLimits
        self.metrics = metrics
        self.compute = compute
        self.offloadFLOPs = offloadFLOPs
    }

    /// 100 MFLOP: about 0.4–1 ms on one core here. A pass of requests below it stays on the event
    /// loop however many share it: the requests it gathered were read by that loop, and a thread
    /// hop costs more than it frees (the demo model, 3.3 MFLOP a sequence, at 64 connections:
    /// 1.13× the text `/predict` throughput and 1.19× the V2 binary one of passes over 100 MFLOP
    /// leaving the loop). One sequence of an LSTM(256) over 200 steps (144 MFLOP) leaves it.
    package static let defaultOffloadFLOPs = 100_000_000

    /// Two operations per parameter per step per sequence: what an LSTM's products cost (the
    /// steps of the first input).
    static func estimatedFLOPs(_ model: LoadedModel, _ input: Tensor) -> Int {
        let steps = input.shape.count > 1 ? input.shape[1] : 1
        return 2 * model.info.parameterCount * steps * input.shape[0]
    }

    /// The limits `model` runs under.
    func limits(for model: String) -> Limits { modelLimits[model] ?? limits }

    /// What the batcher has done so far, and what waits now.
    var statistics: Statistics {
        state.withLockedValue { state in
            var statistics = state.counters
            statistics.queued = state.queue.queued
            return statistics
        }
    }

    /// The outputs of `pass` for `inputs` (a validated request's, one per model input, batch
    /// first): its own rows of a pass it may share with other requests. A failed pass fails every
    /// request in it.
    package func run(_ model: LoadedModel, _ pass: ForwardPass, inputs: [Tensor]) async throws -> [Tensor] {
        let limits = limits(for: model.info.model)
        guard limits.maxSize > 1 else {
            state.withLockedValue { $0.counters.requests += 1 }
            return try await runPass(model, pass, [inputs])[0]
        }
        let loop = Self.gatheringLoop(limits)
        let atOnce = state.withLockedValue { state in
            state.counters.requests += 1
            return state.queue.takeWorkerAtOnce(rows: inputs[0].shape[0], gathering: loop != nil, limits)
        }
        if atOnce {
            defer { handOff() }
            return try await runPass(model, pass, [inputs])[0]
        }
        let key = BatchQueue.Key(model: model.info.model, version: model.info.version, pass: pass,
                                 items: inputs.map { Array($0.shape.dropFirst()) }, loop: loop)
        let arrival = state.withLockedValue { state in
            state.queue.arrive(model, key, inputs, limits)
        }
        switch arrival {
        case .runNow:
            defer { handOff() }
            return try await runPass(model, pass, [inputs])[0]
        case let .lead(own):
            defer { handOff() }
            await waitToFill(key, limits)
            // A leader heads the group it claimed, and only its claimer takes a group.
            return try await runBatch(model, pass, take(key, limits), own: own)!
        case let .follow(waiting, wake):
            wake?.resume()
            return try await wait(for: waiting)
        }
    }

    /// The event loop whose other requests may join this one's pass: this thread's, when it has
    /// read requests besides this one that it has not answered and no timer gathers requests.
    private static func gatheringLoop(_ limits: Limits) -> ObjectIdentifier? {
        guard limits.maxDelayMicroseconds == 0 else { return nil }
        let requests = LoopRequests.current
        return requests.unanswered > 1 ? ObjectIdentifier(requests) : nil
    }

    /// The whole model, or layers up to one, on `inputs`.
    package static func forward(_ model: LoadedModel, _ pass: ForwardPass, _ inputs: [Tensor]) -> [Tensor] {
        pass.outputs(of: model.network, inputs)
    }

    /// Runs a pass over `batch` and resolves every request in it but `own`, whose rows it returns.
    private func runBatch(_ model: LoadedModel, _ pass: ForwardPass, _ batch: [BatchQueue.Waiting], own: BatchQueue.Waiting?) async throws -> [Tensor]? {
        guard !batch.isEmpty else { return nil }
        let outcome: Result<[[Tensor]], any Error>
        do {
            outcome = .success(try await runPass(model, pass, batch.map(\.inputs)))
        } catch {
            outcome = .failure(error)
        }
        var resumes: [(CheckedContinuation<[Tensor], any Error>, Result<[Tensor], any Error>)] = []
        var mine: Result<[Tensor], any Error>?
        state.withLockedValue { _ in
            for (index, waiting) in batch.enumerated() {
                let result = outcome.map { $0[index] }
                if waiting === own {
                    mine = result
                } else if let continuation = waiting.continuation {
                    waiting.continuation = nil
                    resumes.append((continuation, result))
                } else {
                    waiting.outcome = result
                }
            }
        }
        for (continuation, result) in resumes { continuation.resume(with: result) }
        return try mine?.get()
    }

    /// One forward pass over `requests` (each one tensor per model input) stacked along the
    /// batch axis, cut back into each request's outputs. A pass with a request of at least
    /// `offloadFLOPs` runs on NIO's thread pool: the event loop that took it goes on reading
    /// requests (which then queue for the next pass) instead of stalling its connections for the
    /// pass; other passes run where they are, without a thread hop.
    private func runPass(_ model: LoadedModel, _ pass: ForwardPass, _ requests: [[Tensor]]) async throws -> [[Tensor]] {
        let inputs = requests.count == 1 ? requests[0] : requests[0].indices.map { input in Tensor(stacking: requests.map { $0[input] }) }
        state.withLockedValue { state in
            state.counters.passes += 1
            if requests.count > 1 { state.counters.sharedRequests += requests.count }
        }
        metrics?.recordForwardPass(model: model.info.model, sequences: inputs[0].shape[0], requests: requests.count)
        let compute = self.compute
        let outputs = requests.contains(where: { Self.estimatedFLOPs(model, $0[0]) >= offloadFLOPs })
            ? try await NIOThreadPool.singleton.runIfActive { try compute(model, pass, inputs) }
            : try compute(model, pass, inputs)
        guard requests.count > 1 else { return [outputs] }
        let rows = requests.map { $0[0].shape[0] }
        let split = outputs.map { $0.split(batches: rows) }
        return requests.indices.map { request in split.map { $0[request] } }
    }

    /// Waits for a queued request's rows; a request cancelled while still queued leaves the queue
    /// and throws `CancellationError`, one already in a pass gets its rows.
    private func wait(for waiting: BatchQueue.Waiting) async throws -> [Tensor] {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<[Tensor], any Error>? = state.withLockedValue { _ in
                    if let outcome = waiting.outcome { return outcome }
                    waiting.continuation = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let (request, waker) = state.withLockedValue { $0.queue.cancel(waiting) }
            request?.resume(throwing: CancellationError())
            waker?.resume()
        }
    }

    /// Waits while claimed group `key` may still grow: until it holds `maxSize` sequences or its
    /// oldest request has waited `maxDelayMicroseconds`; a group of one event loop's requests,
    /// while that loop's other requests join it. The wait goes on if the waiting task is
    /// cancelled, since the group's other requests depend on it.
    private func waitToFill(_ key: BatchQueue.Key, _ limits: Limits) async {
        guard limits.maxDelayMicroseconds > 0 else {
            if key.loop != nil { await gather(key, limits) }
            return
        }
        await withCheckedContinuation { continuation in
            let parked = state.withLockedValue { state in
                guard let deadline = state.queue.deadline(key, limits) else { return false }
                let id = state.queue.nextID()
                // It needs the lock this section holds, so it wakes no one before the waker is parked.
                let timer = Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    self.state.withLockedValue { $0.queue.wake(key, id: id) }?.resume()
                }
                state.queue.park(key, .init(id: id, continuation: continuation, timer: timer))
                return true
            }
            if !parked { continuation.resume() }
        }
    }

    /// Lets the requests that event loop `key.loop` has already read run up to the batcher and join
    /// group `key`: yields to them while the group grows, until it holds `maxSize` sequences.
    private func gather(_ key: BatchQueue.Key, _ limits: Limits) async {
        var seen = 0
        while true {
            let sequences = state.withLockedValue { $0.queue.sequences(key) }
            guard sequences < limits.maxSize, sequences != seen else { return }
            seen = sequences
            await Task.yield()
        }
    }

    /// Takes the next batch of claimed group `key`, starting a worker for what it leaves when one is free.
    private func take(_ key: BatchQueue.Key, _ limits: Limits) -> [BatchQueue.Waiting] {
        let (batch, spawn) = state.withLockedValue { $0.queue.take(key, maxSize: limits.maxSize) }
        if spawn { Task { await drain() } }
        return batch
    }

    /// Called by a request that held a worker, once its pass is done: passes the worker to a new
    /// task when requests queue, so the request can return.
    private func handOff() {
        if state.withLockedValue({ $0.queue.handOff() }) { Task { await drain() } }
    }

    /// A worker's loop: the oldest group, filled or timed out, one pass at a time, until none waits.
    private func drain() async {
        while let (key, model) = state.withLockedValue({ $0.queue.pick() }) {
            let limits = limits(for: key.model)
            await waitToFill(key, limits)
            // Its requests have their results (or error) already.
            _ = try? await runBatch(model, key.pass, take(key, limits), own: nil)
        }
    }
}
