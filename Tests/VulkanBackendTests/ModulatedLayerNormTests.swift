import CPUBackend
import Tensors
import Testing
@testable import VulkanBackend

/// The fused LayerNorm + adaLN modulation beyond the op table: how modulation rows are indexed, that the
/// fused kernel is what runs (one dispatch per window of rows, windows cutting through the rows of one
/// batch item), and the two-op path for broadcasts it does not index.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct ModulatedLayerNormTests {
    @Test func rowBroadcastPatterns() {
        func pattern(_ operand: Shape, _ x: Shape) -> [Int]? {
            RowBroadcast(operand, rowsOf: x).map { [$0.div, $0.count, $0.step] }
        }
        #expect(pattern([2, 1, 8], [2, 5, 8]) == [5, 2, 1])     // Wan: one modulation row per batch item
        #expect(pattern([8], [2, 5, 8]) == [1, 1, 1])
        #expect(pattern([2, 5, 8], [2, 5, 8]) == [1, 10, 1])
        #expect(pattern([1, 5, 8], [2, 5, 8]) == [1, 5, 1])
        #expect(pattern([2, 5, 1], [2, 5, 8]) == [1, 10, 0])    // one value per row
        #expect(pattern([2, 1, 1, 8], [2, 1, 4, 8]) == [4, 2, 1])  // size-1 dims of x are not a break
        #expect(pattern([2, 1, 4, 8], [2, 3, 4, 8]) == nil)     // two runs of dims
        #expect(pattern([3, 8], [2, 5, 8]) == nil)              // does not broadcast
        #expect(pattern([1, 2, 5, 8], [2, 5, 8]) == nil)        // would grow x
    }

    /// x [3, 70, 64] with rows bound 60 at a time (16 KiB windows): windows start inside a batch item,
    /// so each dispatch must index the modulation rows from the op's first row.
    @Test(arguments: [VulkanBackend.Activations.f32, .f16])
    func fusedKernelAcrossBindingWindows(_ activations: VulkanBackend.Activations) throws {
        let device = try TestDevice.result.get()
        let backend = try VulkanBackend(device: device, activations: activations, maxBindingBytes: 16 << 10, profile: true, printProfile: false)
        let cpu = CPUBackend()
        let (batches, tokens, width) = (3, 70, 64)
        let x = pseudoRandomFloats(count: batches * tokens * width, seed: 51, range: 2)
        let scale = pseudoRandomFloats(count: batches * width, seed: 52, range: 1), shift = pseudoRandomFloats(count: batches * width, seed: 53, range: 1)
        func run(_ b: any Backend) throws -> [Float] {
            try b.floats(try b.modulatedLayerNorm(try b.tensor(x, [batches, tokens, width]), scale: try b.tensor(scale, [batches, 1, width]),
                                                  shift: try b.tensor(shift, [batches, 1, width]), eps: 1e-6))
        }
        _ = backend.takeProfile()
        let out = try run(backend)
        let profile = backend.takeProfile()
        #expect(Set(profile.keys) == ["modulatedLayerNorm"], "ops run: \(profile.keys.sorted())")
        #expect((profile["modulatedLayerNorm"]?.count ?? 0) > 1, "rows were not split over windows")
        let error = try ErrorMetric.compare(out, try run(cpu)).relativeL2
        #expect(error <= (activations == .f16 ? 2e-3 : 1e-5), "\(activations): relative L2 \(error)")
    }

    @Test func broadcastOverTwoRunsTakesTheTwoOps() throws {
        let device = try TestDevice.result.get()
        let backend = try VulkanBackend(device: device, profile: true, printProfile: false)
        let x = pseudoRandomFloats(count: 2 * 3 * 4 * 9, seed: 54, range: 2), scale = pseudoRandomFloats(count: 2 * 4 * 9, seed: 55, range: 1)
        _ = backend.takeProfile()
        _ = try backend.floats(try backend.modulatedLayerNorm(try backend.tensor(x, [2, 3, 4, 9]), scale: try backend.tensor(scale, [2, 1, 4, 9]),
                                                              shift: try backend.tensor(scale, [2, 1, 4, 9]), eps: 1e-6))
        #expect(Set(backend.takeProfile().keys) == ["layerNorm", "modulate"])
    }
}
