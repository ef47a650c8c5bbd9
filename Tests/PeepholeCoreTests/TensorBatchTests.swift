import PeepholeCore
import Testing

/// Stacking requests' inputs along the batch axis and cutting a pass's output back.
@Suite struct TensorBatchTests {
    @Test func stackingPutsBatchesOneAfterAnotherAndSplittingUndoesIt() {
        let a = Tensor(shape: [1, 2, 2], data: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2, 2], data: [5, 6, 7, 8, 9, 10, 11, 12])
        let stacked = Tensor(stacking: [a, b])
        #expect(stacked == Tensor(shape: [3, 2, 2], data: Array(1...12).map(Float.init)))
        #expect(stacked.split(batches: [1, 2]) == [a, b])
        #expect(stacked.split(batches: [3]) == [stacked])
        #expect(Tensor(stacking: [b]) == b)
    }
}
