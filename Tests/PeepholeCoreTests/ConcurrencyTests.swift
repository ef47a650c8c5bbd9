import Foundation
import Testing
@testable import PeepholeCore

@Test func concurrentRunsAgreeWithSequentialOnes() async throws {
    let directory = Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
    try store.importModel(try KerasModelFile.read(path: Fixtures.own.appendingPathComponent("bidi_concat.k3.keras").path), name: "bidi")
    let network = try store.load(model: "bidi").network

    // Different inputs per task, so a shared scratch buffer would show as a wrong answer.
    let inputs = (0..<16).map { seed in
        Tensor(shape: [2, 7], data: (0..<14).map { Float(($0 * 7 + seed * 3) % 12) })
    }
    let sequential = inputs.map { network.run($0, states: [1]) }
    let concurrent = try await withThrowingTaskGroup(of: (Int, ForwardResult).self) { group in
        for round in 0..<8 {
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, network.run(input, states: [1])) }
            }
            _ = round
        }
        var results: [(Int, ForwardResult)] = []
        for try await result in group { results.append(result) }
        return results
    }
    #expect(concurrent.count == 128)
    for (index, result) in concurrent {
        #expect(result.output == sequential[index].output)
        #expect(result.states[1] == sequential[index].states[1])
    }
}
