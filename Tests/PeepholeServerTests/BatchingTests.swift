import Foundation
import PeepholeCore
import Testing
@testable import PeepholeServer

/// The batcher's scheduling, watched pass by pass on the chain model with one worker. A worker
/// that waits for its group to fill stands in for a busy one, so no test blocks a thread, and
/// every pass runs when its group fills, so no test depends on how fast requests arrive.
@Suite struct BatchingTests {
    /// One worker that waits for `maxSize` sequences.
    private func batcher(maxSize: Int, delay: Int = patientDelay, offloadFLOPs: Int = InferenceBatcher.defaultOffloadFLOPs,
                         _ log: PassLog) -> InferenceBatcher {
        InferenceBatcher(workers: 1, limits: .init(maxSize: maxSize, maxDelayMicroseconds: delay), offloadFLOPs: offloadFLOPs, compute: log.compute)
    }

    private func inputs(_ shapes: [(batch: Int, steps: Int)], _ model: LoadedModel) throws -> [Tensor] {
        try shapes.enumerated().map { try predictInput(chainInputs(batch: $1.batch, steps: $1.steps, seed: $0), model) }
    }

    @Test func requestsArrivingTogetherShareOnePassAndEachGetsItsOwnRows() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        let batcher = batcher(maxSize: 5, log)
        let inputs = try inputs([(1, 5), (1, 5), (2, 5), (1, 5)], model)
        let outputs = try await runInOrder(batcher, model, inputs).map { try $0.get() }
        #expect(log.passes == [[5, 5, 6]])
        #expect(batcher.statistics == .init(requests: 4, passes: 1, sharedRequests: 4, queued: 0))
        expectEachAsAlone(model, inputs, outputs)
    }

    /// Long passes run on NIO's thread pool instead of the calling thread; batched or not, every
    /// request still gets what its input gives alone.
    @Test(arguments: [1, 5])
    func passesOnTheThreadPoolAnswerAsAlone(maxSize: Int) async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        let batcher = batcher(maxSize: maxSize, offloadFLOPs: 0, log)
        let inputs = try inputs([(1, 5), (1, 5), (2, 5), (1, 5)], model)
        let outputs = try await runInOrder(batcher, model, inputs).map { try $0.get() }
        #expect(log.passes.count == (maxSize == 1 ? 4 : 1))
        expectEachAsAlone(model, inputs, outputs)
    }

    @Test func requestsOfOtherLengthsNeverShareAPass() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        let batcher = batcher(maxSize: 2, log)
        // The 4-step group fills first; the 7-step requests queue behind it in a group of their own.
        let inputs = try inputs([(1, 4), (1, 7), (1, 7), (1, 4)], model)
        let outputs = try await runInOrder(batcher, model, inputs).map { try $0.get() }
        #expect(log.passes == [[2, 4, 6], [2, 7, 6]])
        expectEachAsAlone(model, inputs, outputs)
    }

    @Test func queuedRequestsRunInArrivalOrderWholeAndALargeOneAlone() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        let batcher = batcher(maxSize: 2, log)
        // The first 3-step request holds the worker while the 5-step ones queue; the last fills it.
        let inputs = try inputs([(1, 3), (3, 5), (1, 5), (1, 5), (1, 3)], model)
        let outputs = try await runInOrder(batcher, model, inputs).map { try $0.get() }
        #expect(log.passes == [[2, 3, 6], [3, 5, 6], [2, 5, 6]])
        #expect(outputs.map(\.shape[0]) == [1, 3, 1, 1, 1])
    }

    @Test func aFailedPassFailsEveryRequestInIt() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog(fails: true)
        let batcher = batcher(maxSize: 3, log)
        let results = try await runInOrder(batcher, model, try inputs([(1, 4), (1, 4), (1, 4)], model))
        #expect(log.passes.count == 1)
        for result in results {
            #expect(throws: PassLog.Failure.self) { try result.get() }
        }
        #expect(batcher.statistics.queued == 0)
    }

    @Test func aRequestCancelledWhileQueuedLeavesAndTheOthersRun() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        let batcher = batcher(maxSize: 3, log)
        let inputs = try inputs([(1, 4), (1, 4), (1, 4), (1, 4)], model)
        let first = Task { try await batcher.run(model, .model, input: inputs[0]) }
        while batcher.statistics.queued < 1 { try await Task.sleep(for: .milliseconds(1)) }
        let cancelled = Task { try await batcher.run(model, .model, input: inputs[1]) }
        while batcher.statistics.queued < 2 { try await Task.sleep(for: .milliseconds(1)) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(batcher.statistics.queued == 1)
        let rest = try await runInOrder(batcher, model, Array(inputs[2...]))
        _ = try await first.value
        #expect(rest.allSatisfy { (try? $0.get()) != nil })
        #expect(log.passes == [[3, 4, 6]])
    }

    @Test func maxSizeOneRunsEveryRequestAloneAtOnce() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        let batcher = batcher(maxSize: 1, log)
        let inputs = try inputs([(1, 4), (1, 4), (2, 4)], model)
        let outputs = try await withThrowingTaskGroup(of: Tensor.self) { group in
            for input in inputs { group.addTask { try await batcher.run(model, .model, input: input) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outputs.count == 3)
        #expect(log.passes.sorted { $0[0] < $1[0] } == [[1, 4, 6], [1, 4, 6], [2, 4, 6]])
        #expect(batcher.statistics.sharedRequests == 0)
    }

    @Test func anIdleWorkerRunsARequestAtOnceWithoutWaiting() async throws {
        let testStore = try TestStore([.chain])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "chain")
        let log = PassLog()
        // A delay of zero: nothing waits for company, so a lone request does not wait at all.
        let batcher = batcher(maxSize: 8, delay: 0, log)
        let input = try inputs([(2, 4)], model)[0]
        let output = try await batcher.run(model, .layer(1), input: input)
        #expect(log.passes == [[2, 4, 6]])
        #expect(output == InferenceBatcher.forward(model, .layer(1), [input])[0])
        #expect(batcher.statistics == .init(requests: 1, passes: 1, sharedRequests: 0, queued: 0))
    }

    @Test func requestsToASeveralInputModelShareAPassAndGetTheirOwnRowsOfEveryOutput() async throws {
        let testStore = try TestStore([.twoHeads])
        defer { testStore.remove() }
        let model = try testStore.store.load(model: "two_heads")
        let recorded = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.keras.appendingPathComponent("graphs/two_heads.k3.expected.json"))) as! [String: Any]
        let columns = recorded["inputs"] as! [String: [Any]]
        // Each recorded row as a request of one sequence, every input's row.
        let requests = (0..<3).map { row in
            model.network.inputs.map { input in
                let values = numbers(in: columns[input.name]![row]).map(Float.init)
                return Tensor(shape: [1] + input.shape.map { $0 ?? values.count }, data: values)
            }
        }
        let log = PassLog()
        let batcher = batcher(maxSize: 3, log)
        let outputs = try await withThrowingTaskGroup(of: (Int, [Tensor]).self) { group in
            for (index, inputs) in requests.enumerated() {
                group.addTask { (index, try await batcher.run(model, .model, inputs: inputs)) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(log.passes == [[3, 6, 4]])
        #expect(batcher.statistics.sharedRequests == 3)
        for (index, inputs) in requests.enumerated() {
            let alone = InferenceBatcher.forward(model, .model, inputs)
            #expect(alone.count == 2)
            #expect(outputs[index] == alone, "request \(index): every output bit for bit as alone")
        }
    }
}
