import Foundation
import Hummingbird
import PeepholeCore
import Testing
@testable import PeepholeServer

/// Each model's requests in flight are bounded; past the bound a request is refused with 503
/// and `Retry-After`, and the slot is free again once a request finishes (or fails).
@Suite struct AdmissionTests {
    @Test func requestsPastTheBoundAreRefusedUntilASlotFrees() async throws {
        let testStore = try TestStore([.onehot, .embed])
        defer { testStore.remove() }
        let onehot = try testStore.store.load(model: "onehot"), embed = try testStore.store.load(model: "embed")
        let admission = ModelAdmission(limit: 2)
        let release = ManagedFlag()
        let running = AsyncStream<Void>.makeStream()
        async let held: [Void] = withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try await admission.run(onehot) {
                        running.continuation.yield()
                        while !release.isSet { try await Task.sleep(for: .milliseconds(5)) }
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var started = 0
        for await _ in running.stream {
            started += 1
            if started == 2 { break }
        }
        #expect(admission.count("onehot") == 2)
        await #expect(throws: ServerError.queueFull(model: "onehot", limit: 2)) { try await admission.run(onehot) {} }
        // Another model has its own bound.
        #expect(try await admission.run(embed) { 42 } == 42)
        release.set()
        _ = try await held
        #expect(admission.count("onehot") == 0)
        await #expect(throws: PeepholeError.self) { try await admission.run(onehot) { throw PeepholeError.unknownModel("x") } }
        #expect(admission.count("onehot") == 0, "a failed request frees its slot")

        let response = ErrorResponse(ServerError.queueFull(model: "onehot", limit: 2)).response
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers[.retryAfter] == "1")
    }
}
