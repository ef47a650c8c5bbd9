import Foundation
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import PeepholeCore
import Testing
@testable import PeepholeServer

/// Without a timer, a pass takes the requests its event loop has read: each loop's
/// read-but-unanswered requests are counted (`LoopRequests`), and a request that finds others
/// counted lets them join its pass.
@Suite struct GatheringTests {
    /// Requests one event loop has read reach the batcher one after another on that loop; with
    /// a delay of zero they still share one pass, and each gets what it gives alone.
    @Test func requestsOneLoopHasReadShareOnePassWithoutATimer() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        let batcher = InferenceBatcher(workers: 1, limits: .init(maxSize: 8, maxDelayMicroseconds: 0), compute: log.compute)
        let shapes = [(1, 5), (1, 5), (2, 5), (1, 5)]
        let inputs = try shapes.enumerated().map { try predictInput(chainInputs(batch: $1.0, steps: $1.1, seed: $0), model) }
        let loop = OneThreadExecutor()
        defer { loop.stop() }

        let outputs = try await withTaskExecutorPreference(loop) {
            // As a loop's connections do when it reads the requests: all counted before any runs.
            for _ in inputs { LoopRequests.received() }
            defer { LoopRequests.answered(inputs.count) }
            return try await withThrowingTaskGroup(of: (Int, Tensor).self) { group in
                for (index, input) in inputs.enumerated() {
                    group.addTask { (index, try await batcher.run(model, .model, input: input)) }
                }
                var outputs = [Tensor?](repeating: nil, count: inputs.count)
                for try await (index, output) in group { outputs[index] = output }
                return outputs.map { $0! }
            }
        }
        #expect(log.passes == [[5, 5, 6]])
        #expect(batcher.statistics == .init(requests: 4, passes: 1, sharedRequests: 4, queued: 0))
        expectEachAsAlone(model, inputs, outputs)
    }

    /// A request is counted on its loop once read whole, and uncounted when its answer ends or
    /// its connection closes unanswered.
    @Test func aConnectionCountsItsRequestsUntilAnsweredOrClosed() throws {
        // Synchronous on one thread: the embedded channel's handlers run on it, and so count in its `LoopRequests`.
        let before = LoopRequests.current.unanswered
        let channel = EmbeddedChannel(handler: ConnectionGuard(
            counter: ConnectionCounter(limit: 8), headerTimeout: .seconds(10), bodyTimeout: .seconds(10), idleTimeout: .seconds(10)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let head = HTTPRequest(method: .post, scheme: nil, authority: "x", path: "/predict")
        try channel.writeInbound(HTTPRequestPart.head(head))
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "{}")))
        #expect(LoopRequests.current.unanswered == before, "a request whose body is still arriving cannot join a pass yet")
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeInbound(HTTPRequestPart.head(head))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(LoopRequests.current.unanswered == before + 2)

        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(LoopRequests.current.unanswered == before + 1)
        _ = try channel.finish()
        #expect(LoopRequests.current.unanswered == before, "closed with a request unanswered")
    }
}

/// One thread running jobs in the order they come, as an event loop runs its tasks: a stand-in
/// for `peephole serve`'s loops, which tests cannot make Swift Concurrency's executor.
private final class OneThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    init() {
        Thread { [self] in run() }.start()
    }

    func enqueue(_ job: UnownedJob) {
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    /// Ends the thread once the jobs queued now have run.
    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    private func run() {
        while true {
            let job: UnownedJob? = condition.withLock {
                while jobs.isEmpty && !stopped { condition.wait() }
                return jobs.isEmpty ? nil : jobs.removeFirst()
            }
            guard let job else { return }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
