import BackendConformance
import CVulkan
import Foundation
import Tensors
import Testing
@testable import VulkanBackend

/// The backend under `VK_LAYER_KHRONOS_validation` with synchronization validation: every op of the
/// table, in both memory strategies, both activation types and both q8 kernels, plus split bindings
/// and streamed uploads between dispatches, must leave the layer silent — no API misuse, no missing
/// barrier between dispatches and copies. Skipped where the layer is not installed (Debian:
/// vulkan-validationlayers, which scripts/setup installs).
@Suite(.enabled(if: TestDevice.available && VulkanInstance.validationLayerAvailable, "no Vulkan device or no validation layer"))
struct ValidationLayerTests {
    /// A validated device of its own per test (tests run in parallel; each checks its own log).
    static func device() throws -> (VulkanDevice, ValidationLog) {
        let instance = try VulkanInstance(validation: true, printValidation: false)
        let log = try #require(instance.validationLog)
        return (try VulkanDevice(physicalDevice: try instance.selectDevice()), log)
    }

    static func report(_ log: ValidationLog) -> String {
        log.errors.prefix(3).map { String($0.text.prefix(600)) }.joined(separator: "\n")
    }

    /// The log does catch misuse: a zero-size buffer is invalid (VUID-VkBufferCreateInfo-size-00912).
    @Test func theLayerReportsMisuse() throws {
        let (device, log) = try Self.device()
        let before = log.errors.count
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = 0
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue
        var buffer: VkBuffer?
        if vkCreateBuffer(device.handle, &info, nil, &buffer) == VK_SUCCESS, let buffer { vkDestroyBuffer(device.handle, buffer, nil) }
        #expect(log.errors.count > before)
        #expect(log.errors.last?.text.contains("size") == true)
    }

    @Test(arguments: VulkanMemoryStrategy.allCases)
    func opTableIsClean(memory: VulkanMemoryStrategy) throws {
        let (device, log) = try Self.device()
        let before = log.errors.count
        var backends = [try VulkanBackend(device: device, activations: .f32, q8Mode: .w8a16, memory: memory, dispatchesPerSubmit: 16)]
        if device.enabledFeatures.storageBuffer16BitAccess {
            backends.append(try VulkanBackend(device: device, activations: .f16, q8Mode: .w8a8, memory: memory, dispatchesPerSubmit: 16))
        }
        for backend in backends {
            for op in OpTable.cases { _ = try op.evaluate(on: backend, seed: 51) }
        }
        #expect(log.errors.count == before, "\(log.errors.count - before) validation errors, first: \(Self.report(log))")
    }

    /// Split bindings, and weights uploaded (staged) between dispatches that reuse released regions.
    @Test func splitBindingsAndInterleavedUploadsAreClean() throws {
        let (device, log) = try Self.device()
        let before = log.errors.count
        let split = try VulkanBackend(device: device, maxBindingBytes: 16 << 10, memory: .staged, dispatchesPerSubmit: 8, copyBytesPerSubmit: 64 << 10)
        var x = try split.tensor(pseudoRandomFloats(count: 40 * 96, seed: 52, range: 1), [40, 96])
        for round in 0 ..< 4 {
            let w = WeightBytes(pseudoRandomFloats(count: 96 * 96, seed: 53 + UInt64(round), range: 0.1), [96, 96], as: .q8(group: 32))
            x = try split.layerNorm(try split.linear(x, try split.weight(w.weightData), bias: nil), weight: nil, bias: nil, eps: 1e-5)
        }
        #expect(try split.floats(x).allSatisfy(\.isFinite))
        #expect(log.errors.count == before, "\(log.errors.count - before) validation errors, first: \(Self.report(log))")
    }
}
