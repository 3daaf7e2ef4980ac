import CPUBackend
import Testing
import Tensors
@testable import Models

/// The feed-forward over groups of token rows gives the rows of one pass over all of them (ragged last
/// group, batch 2), and a different weight would not.
@Suite struct FeedForwardTests {
    @Test func groupsOfRowsEqualOnePass() throws {
        let backend = CPUBackend()
        let (batch, rows, width, hidden) = (2, 37, 24, 64)
        var state: UInt64 = 7
        func values(_ n: Int, scale: Float = 1) -> [Float] {
            (0 ..< n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Float(state >> 40) / Float(1 << 24) - 0.5) * scale
            }
        }
        var buffers: [UnsafeMutableRawBufferPointer] = []
        defer { buffers.forEach { $0.deallocate() } }
        func weight(_ v: [Float], _ shape: Shape) throws -> Tensor {  // an f32 weight, as a model file holds it
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: v.count * 4, alignment: 64)
            buffers.append(bytes)
            v.withUnsafeBytes { bytes.copyMemory(from: $0) }
            return try backend.weight(WeightData(name: "ffn", shape: shape, dtype: .f32, data: UnsafeRawBufferPointer(bytes), owner: nil))
        }
        let ffn = FeedForward(inWeight: try weight(values(hidden * width, scale: 0.4), [hidden, width]),
                              inBias: try weight(values(hidden), [hidden]),
                              outWeight: try weight(values(width * hidden, scale: 0.3), [width, hidden]),
                              outBias: try weight(values(width), [width]))
        let h = try backend.tensor(values(batch * rows * width), [batch, rows, width])
        let whole = try backend.floats(try ffn(h, on: backend))
        let grouped = try ffn(h, rowsPerGroup: 10, on: backend)
        #expect(grouped.shape.dims == [batch, rows, width])
        let error = try ErrorMetric.compare(try backend.floats(grouped), whole, what: "grouped feed-forward")
        #expect(error.within(1e-6), "\(error)")
        // The check can fail: the rows of another group order (a swapped pair of groups) are not these.
        var swapped = try backend.floats(grouped)
        for i in 0 ..< 10 * width { swapped.swapAt(i, i + 10 * width) }
        #expect(!(try ErrorMetric.compare(swapped, whole, what: "swapped").within(1e-6)))
    }
}
