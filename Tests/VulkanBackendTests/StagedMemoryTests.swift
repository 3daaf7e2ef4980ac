import Tensors
import Testing
@testable import VulkanBackend

/// The discrete-GPU memory path (device-local tensors, staged copies), forced on whatever device
/// the tests run on. On lavapipe the device-local memory is host-visible too, but the staged
/// backend never maps it: every byte goes through staging buffers and recorded copies.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct StagedMemoryTests {
    static func backend(copyBytesPerSubmit: Int = 64 << 20, dispatchesPerSubmit: Int = 256) throws -> VulkanBackend {
        try VulkanBackend(device: try TestDevice.result.get(), memory: .staged, dispatchesPerSubmit: dispatchesPerSubmit,
                          copyBytesPerSubmit: copyBytesPerSubmit)
    }

    @Test func strategyFollowsTheDeviceTypeAndTheEnvironment() throws {
        var caps = try TestDevice.result.get().capabilities
        caps.deviceType = .discreteGPU
        #expect(VulkanMemoryStrategy.automatic(for: caps) == .staged)
        caps.deviceType = .integratedGPU
        #expect(VulkanMemoryStrategy.automatic(for: caps) == .unified)
        #expect(try VulkanMemoryStrategy.resolve(for: caps, environment: ["VACEKIT_VK_MEMORY": "staged"]) == .staged)
        #expect(try VulkanMemoryStrategy.resolve(for: caps, environment: [:]) == .unified)
        #expect(throws: VulkanError.self) { try VulkanMemoryStrategy.resolve(for: caps, environment: ["VACEKIT_VK_MEMORY": "vram"]) }
    }

    @Test func tensorsLiveInUnmappedDeviceLocalMemory() throws {
        let backend = try Self.backend()
        let t = try backend.tensor([1, 2, 3], [3])
        let storage = try backend.storage(t, "test")
        #expect(storage.region.buffer.placement == .deviceLocal)
        #expect(storage.region.mapped == nil)
        #expect(storage.region.buffer.isDeviceLocal)
        #expect(try backend.floats(t) == [1, 2, 3])
        #expect(backend.stagingMemoryBytes > 0)
    }

    /// Weights of every stored type, uploaded in pieces across batch boundaries, read back exactly.
    @Test(arguments: [DType.f32, .f16, .bf16, .q8(group: 32)])
    func weightsRoundTripThroughStaging(dtype: DType) throws {
        // 20 MiB of f32 is larger than one staging piece (16 MiB); 1 MiB per batch forces many submits.
        let backend = try Self.backend(copyBytesPerSubmit: 1 << 20)
        let rows = 1280, columns = dtype == .f32 ? 4096 : 1024
        let weight = WeightBytes(pseudoRandomFloats(count: rows * columns, seed: 41, range: 2), [rows, columns], as: dtype)
        let t = try backend.weight(weight.weightData)
        #expect(try backend.floats(t) == weight.values)
    }

    /// A long upload recycles staging memory: 80 MiB of weights pass through one 64 MiB block.
    @Test func stagingMemoryStaysBoundedDuringLongUploads() throws {
        let backend = try Self.backend(copyBytesPerSubmit: 8 << 20)
        let values = pseudoRandomFloats(count: 1 << 20, seed: 42, range: 1)
        var weights: [Tensor] = []
        for i in 0 ..< 20 {
            let w = WeightBytes(values.map { $0 + Float(i) }, [1024, 1024], as: .f32)
            weights.append(try backend.weight(w.weightData))
        }
        #expect(backend.stagingMemoryBytes <= 64 << 20, "staging held \(backend.stagingMemoryBytes) bytes")
        #expect(try backend.floats(weights[0]) == values)
        #expect(try backend.floats(weights[19]) == values.map { $0 + 19 })
    }

    /// An upload recorded after a dispatch that reads the region it reuses must wait for it.
    @Test func uploadsAreOrderedWithDispatches() throws {
        let backend = try Self.backend(dispatchesPerSubmit: 1000)
        let values = pseudoRandomFloats(count: 4096, seed: 43, range: 1)
        var results: [Tensor] = []
        for round in 0 ..< 6 {
            var source: Tensor? = try backend.tensor(values.map { $0 + Float(round) }, [4096])
            results.append(try backend.unary(.scale(2), source!))
            source = nil
            _ = try backend.tensor([Float](repeating: .nan, count: 4096), [4096])
        }
        for (round, result) in results.enumerated() {
            #expect(try backend.floats(result) == values.map { ($0 + Float(round)) * 2 }, "round \(round)")
        }
    }

    /// Small non-matrix weights (biases, norm scales, tables) used as operands get their f32 copy
    /// from the host bytes at upload, so a pass never stalls to read a weight back.
    @Test func operandViewsOfSmallWeightsAreMadeAtUpload() throws {
        let backend = try Self.backend()
        let bias = WeightBytes(pseudoRandomFloats(count: 96, seed: 44, range: 1), [96], as: .bf16)
        let t = try backend.weight(bias.weightData)
        let storage = try backend.storage(t, "test")
        var made = false
        _ = storage.operandView { made = true; return storage }
        #expect(!made, "the operand view should exist before first use")
        let x = try backend.tensor([Float](repeating: 0, count: 96), [1, 96])
        #expect(try backend.floats(try backend.binary(.add, x, t)) == bias.values)
    }
}

/// `vacekit devices`' runtime line follows the environment the backend reads.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct KernelChoicesTests {
    @Test func runtimeLineFollowsTheEnvironment() throws {
        let physical = try TestDevice.result.get().physicalDevice
        let caps = physical.capabilities
        let plain = KernelChoices.describe(physical, environment: [:])
        #expect(plain.contains("\(VulkanMemoryStrategy.automatic(for: caps).rawValue) memory"))
        #expect(plain.contains(caps.integerDotProductAccelerated ? "W8A8" : "W8A16"))
        let forced = KernelChoices.describe(physical, environment: ["VACEKIT_VK_MEMORY": "staged", "VACEKIT_Q8_MODE": "w8a8"])
        #expect(forced.contains("staged memory"))
        #expect(forced.contains(caps.integerDotProduct ? "W8A8" : "W8A16"))
        #expect(KernelChoices.describe(physical, environment: ["VACEKIT_Q8_MODE": "w8a16"]).contains("W8A16"))
    }
}

/// Memory types for each placement, on a discrete-GPU-like list: VRAM, the BAR window of VRAM
/// (device-local and host-visible), and cached system memory.
@Suite struct MemoryPlacementTests {
    typealias MemoryType = VulkanCapabilities.MemoryType
    static let discrete = [
        MemoryType(heapIndex: 0, isDeviceLocal: true, isHostVisible: false, isHostCoherent: false, isHostCached: false),
        MemoryType(heapIndex: 1, isDeviceLocal: false, isHostVisible: true, isHostCoherent: true, isHostCached: true),
        MemoryType(heapIndex: 2, isDeviceLocal: true, isHostVisible: true, isHostCoherent: true, isHostCached: false),
    ]

    @Test func eachPlacementGetsItsMemory() {
        #expect(VulkanBuffer.memoryType(Self.discrete, allowed: 0b111, placement: .deviceLocal) == 0)
        #expect(VulkanBuffer.memoryType(Self.discrete, allowed: 0b111, placement: .staging) == 1)
        #expect(VulkanBuffer.memoryType(Self.discrete, allowed: 0b111, placement: .hostVisible) == 2)
        // What the buffer allows decides first.
        #expect(VulkanBuffer.memoryType(Self.discrete, allowed: 0b100, placement: .staging) == 2)
        #expect(VulkanBuffer.memoryType(Self.discrete, allowed: 0b001, placement: .staging) == nil)
    }
}

extension StagedMemoryTests {
    /// A read-back larger than the staging pieces in flight per wait (4 × 16 MiB) comes back whole,
    /// and the staging buffers it used can be freed.
    @Test func largeReadBacksGoInRounds() throws {
        let backend = try Self.backend()
        let values = pseudoRandomFloats(count: 20 << 20, seed: 45, range: 1)  // 80 MiB
        let t = try backend.unary(.scale(2), try backend.tensor(values, [20 << 20]))
        #expect(try backend.floats(t) == values.map { $0 * 2 })
        #expect(try backend.releaseCachedMemory() >= 16 << 20)
        #expect(backend.stagingMemoryBytes < 64 << 20)
    }
}
