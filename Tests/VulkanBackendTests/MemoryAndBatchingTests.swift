import Tensors
import Testing
@testable import VulkanBackend

@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct MemoryAndBatchingTests {
    @Test func bucketsHaveAtMostAQuarterOfSlack() {
        for bytes in [1, 255, 256, 257, 1000, 4096, 5000, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let bucket = TensorMemoryPool.bucket(bytes)
            #expect(bucket >= bytes && (bytes <= 256 || Double(bucket) <= Double(bytes) * 1.25 + 1), "\(bytes) → \(bucket)")
        }
    }

    /// A forward pass run twice allocates nothing the second time: released regions are reused.
    @Test func releasedTensorsAreReused() throws {
        let backend = try VulkanBackend(device: try TestDevice.result.get(), dispatchesPerSubmit: 4)
        func step() throws -> [Float] {
            var x = try backend.tensor(pseudoRandomFloats(count: 4096, seed: 31, range: 1), [64, 64])
            for _ in 0 ..< 10 { x = try backend.unary(.silu, try backend.binary(.add, x, x)) }
            return try backend.floats(x)
        }
        let first = try step()
        let held = backend.deviceMemoryBytes
        #expect(try step() == first)
        #expect(backend.deviceMemoryBytes == held)
    }

    /// A tensor released while a recorded (unsubmitted) dispatch still reads it must not be handed
    /// to a host write before that dispatch has run.
    @Test func hostWritesNeverReuseRegionsInFlight() throws {
        let backend = try VulkanBackend(device: try TestDevice.result.get(), dispatchesPerSubmit: 1000)
        let values = pseudoRandomFloats(count: 1024, seed: 32, range: 1)
        var results: [Tensor] = []
        for round in 0 ..< 8 {
            var source: Tensor? = try backend.tensor(values.map { $0 + Float(round) }, [1024])
            results.append(try backend.unary(.scale(2), source!))
            source = nil  // released; the scale above has not run yet
            _ = try backend.tensor([Float](repeating: .nan, count: 1024), [1024])  // a host write of the same size
        }
        for (round, result) in results.enumerated() {
            #expect(try backend.floats(result) == values.map { ($0 + Float(round)) * 2 }, "round \(round)")
        }
    }

    @Test func largeCachedBuffersCanBeReleased() throws {
        let backend = try VulkanBackend(device: try TestDevice.result.get())
        var big: Tensor? = try backend.tensor([Float](repeating: 1, count: 8 << 20), [8 << 20])  // 32 MiB: a dedicated buffer
        _ = try backend.floats(try backend.unary(.scale(3), big!))
        let held = backend.deviceMemoryBytes
        big = nil
        #expect(try backend.releaseCachedMemory() >= 32 << 20)
        #expect(backend.deviceMemoryBytes < held)
    }

    /// Many small batches (one dispatch each) give the same result as one batch.
    @Test func batchSizeDoesNotChangeResults() throws {
        let device = try TestDevice.result.get()
        func run(_ backend: VulkanBackend) throws -> [Float] {
            var x = try backend.tensor(pseudoRandomFloats(count: 333, seed: 33, range: 1), [3, 111])
            for i in 0 ..< 20 { x = try backend.layerNorm(try backend.unary(.scale(Float(i % 3) + 0.5), x), weight: nil, bias: nil, eps: 1e-5) }
            return try backend.floats(x)
        }
        #expect(try run(VulkanBackend(device: device, dispatchesPerSubmit: 1)) == run(VulkanBackend(device: device, dispatchesPerSubmit: 256)))
    }
}
