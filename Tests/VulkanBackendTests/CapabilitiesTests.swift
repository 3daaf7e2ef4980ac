import CVulkan
import Testing
@testable import VulkanBackend

@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct CapabilitiesTests {
    @Test func probeReturnsSaneValues() throws {
        let device = try TestDevice.result.get()
        let caps = device.capabilities
        #expect(!caps.name.isEmpty)
        #expect(caps.apiVersion >= .v1_2)
        #expect(caps.maxStorageBufferRange > 0)
        #expect(caps.maxMemoryAllocationSize > 0)
        #expect(caps.maxComputeSharedMemorySize >= 16_384)  // the Vulkan minimum
        #expect(caps.subgroupSize > 0 && caps.subgroupSize.nonzeroBitCount == 1)
        #expect(caps.minSubgroupSize <= caps.subgroupSize && caps.subgroupSize <= caps.maxSubgroupSize)
        #expect(caps.subgroupOperations.contains(.basic))
        #expect(caps.maxComputeWorkGroupSize.count == 3 && caps.maxComputeWorkGroupSize.allSatisfy { $0 >= 64 })
        #expect(caps.maxComputeWorkGroupInvocations >= 128)
        #expect(caps.maxPushConstantsSize >= 128)
        #expect(!caps.memoryHeaps.isEmpty && caps.memoryHeaps.allSatisfy { $0.size > 0 })
        #expect(caps.memoryTypes.allSatisfy { $0.heapIndex < caps.memoryHeaps.count })
        #expect(caps.hasComputeQueue)
        // Enabled features are a subset of what the probe found.
        let enabled = device.enabledFeatures
        #expect(!enabled.shaderFloat16 || caps.shaderFloat16)
        #expect(!enabled.storageBuffer16BitAccess || caps.storageBuffer16BitAccess)
        #expect(!enabled.storageBuffer8BitAccess || caps.storageBuffer8BitAccess)
    }

    @Test func describeStartsWithTheDeviceName() throws {
        let caps = try TestDevice.result.get().capabilities
        let lines = caps.describe().split(separator: "\n").map(String.init)
        #expect(lines.first == caps.name)
        #expect(lines.count >= 6)
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("  ") })
    }

    /// Values documented for Mesa 22.3 lavapipe in the environment notes; only checked on lavapipe.
    @Test func lavapipeMatchesItsKnownProfile() throws {
        let caps = try TestDevice.result.get().capabilities
        guard caps.name.hasPrefix("llvmpipe") else { return }
        #expect(caps.deviceType == .cpu)
        #expect(caps.maxStorageBufferRange == 128 << 20)
        #expect(caps.maxComputeSharedMemorySize == 32_768)
        #expect(caps.subgroupSize == 8)
        #expect(caps.isUMA)
        #expect(caps.storageBuffer16BitAccess && caps.storageBuffer8BitAccess && caps.shaderFloat16 && caps.shaderInt8)
        #expect(!caps.cooperativeMatrix)
        #expect(caps.integerDotProduct && !caps.integerDotProductAccelerated)
    }

    @Test func environmentOverrideNamingNoDeviceIsAClearError() throws {
        let device = try TestDevice.result.get()
        let instance = device.physicalDevice.instance
        let selector = DeviceSelector.fromEnvironment(["VACEKIT_DEVICE": "no-such-gpu"])
        #expect(selector == .nameContains("no-such-gpu"))
        do {
            _ = try instance.selectDevice(selector)
            Issue.record("selecting 'no-such-gpu' should fail")
        } catch {
            guard case .deviceNotFound(let asked, let available) = error else {
                Issue.record("expected deviceNotFound, got \(error)")
                return
            }
            #expect(asked == "no-such-gpu")
            #expect(available.contains(device.capabilities.name))
            #expect(error.description.contains("no-such-gpu") && error.description.contains("VACEKIT_DEVICE"))
            #expect(!error.description.contains("\n"))
        }
        #expect(throws: VulkanError.self) { try instance.selectDevice(.index(999)) }
    }

    @Test func overrideByNameAndIndexFindsTheDevice() throws {
        let device = try TestDevice.result.get()
        let instance = device.physicalDevice.instance
        let caps = device.capabilities
        #expect(try instance.selectDevice(.index(caps.index)).capabilities.name == caps.name)
        let fragment = String(caps.name.prefix(4)).uppercased()  // matching ignores case
        #expect(try instance.selectDevice(.nameContains(fragment)).capabilities.name.uppercased().contains(fragment))
    }
}

/// Selection and error text, without a device.
@Suite struct DeviceSelectionTests {
    static func fake(_ index: Int, _ name: String, _ type: VulkanCapabilities.DeviceType, api: VulkanVersion = .v1_3) -> VulkanCapabilities {
        VulkanCapabilities(
            index: index, name: name, deviceType: type, vendorID: 0, deviceID: 0, apiVersion: api, driverVersion: 0,
            driverName: "", driverInfo: "", shaderFloat16: false, shaderInt8: false, storageBuffer16BitAccess: false,
            storageBuffer8BitAccess: false, subgroupSize: 32, minSubgroupSize: 32, maxSubgroupSize: 32, subgroupOperations: [.basic],
            subgroupsInCompute: true, subgroupSizeControl: false, computeFullSubgroups: false, integerDotProduct: false,
            integerDotProductAccelerated: false, cooperativeMatrix: false, maxStorageBufferRange: 1 << 27,
            maxMemoryAllocationSize: 1 << 31, maxComputeSharedMemorySize: 32_768, maxComputeWorkGroupSize: [1024, 1024, 64],
            maxComputeWorkGroupInvocations: 1024, maxComputeWorkGroupCount: [65535, 65535, 65535], maxPushConstantsSize: 128,
            maxPerStageDescriptorStorageBuffers: 32, minStorageBufferOffsetAlignment: 16, timestampPeriod: 1, hasComputeQueue: true,
            computeQueueTimestamps: true, memoryHeaps: [.init(size: 1 << 30, isDeviceLocal: true)],
            memoryTypes: [.init(heapIndex: 0, isDeviceLocal: true, isHostVisible: false, isHostCoherent: false, isHostCached: false)],
            extensions: [])
    }

    static let machine = [
        fake(0, "llvmpipe (LLVM 15.0.6, 256 bits)", .cpu),
        fake(1, "Intel(R) UHD Graphics 770", .integratedGPU),
        fake(2, "NVIDIA GeForce RTX 4090", .discreteGPU),
        fake(3, "Old GPU", .discreteGPU, api: .v1_1),
    ]

    @Test func automaticPrefersDiscreteThenIntegratedThenCPU() throws {
        #expect(try DeviceSelector.automatic.choose(from: Self.machine).index == 2)
        #expect(try DeviceSelector.automatic.choose(from: Array(Self.machine.prefix(2))).index == 1)
        #expect(try DeviceSelector.automatic.choose(from: [Self.machine[0], Self.machine[3]]).index == 0)
    }

    @Test func overridesByIndexAndName() throws {
        #expect(try DeviceSelector(parsing: "0").choose(from: Self.machine).index == 0)
        #expect(try DeviceSelector(parsing: "llvmpipe").choose(from: Self.machine).index == 0)
        #expect(try DeviceSelector(parsing: "uhd").choose(from: Self.machine).index == 1)
        #expect(DeviceSelector(parsing: " auto ") == .automatic)
        #expect(DeviceSelector.fromEnvironment([:]) == .automatic)
        #expect(DeviceSelector.fromEnvironment(["VACEKIT_DEVICE": "2"]) == .index(2))
    }

    @Test func unusableOrMissingDevicesAreNamedInTheError() {
        #expect(throws: VulkanError.deviceNotFound(selector: "7", available: Self.machine.map(\.name))) {
            try DeviceSelector.index(7).choose(from: Self.machine)
        }
        #expect(throws: VulkanError.noDevice(found: ["Old GPU (Vulkan 1.1.0)"])) {
            try DeviceSelector.nameContains("old").choose(from: Self.machine)
        }
        #expect(throws: VulkanError.noDevice(found: [])) { try DeviceSelector.automatic.choose(from: []) }
    }

    @Test func umaNeedsHostVisibleMemoryOnEveryDeviceLocalHeap() {
        var caps = Self.fake(0, "dGPU", .discreteGPU)
        #expect(!caps.isUMA)
        caps.memoryHeaps.append(.init(size: 256 << 20, isDeviceLocal: true))  // a small BAR heap is not enough
        caps.memoryTypes.append(.init(heapIndex: 1, isDeviceLocal: true, isHostVisible: true, isHostCoherent: true, isHostCached: false))
        #expect(!caps.isUMA)
        caps.memoryTypes.append(.init(heapIndex: 0, isDeviceLocal: true, isHostVisible: true, isHostCoherent: true, isHostCached: false))
        #expect(caps.isUMA)
    }

    @Test func errorsAreOneLineWithTheResultName() {
        let noDriver = VulkanError.noDriver(result: vkResultName(VK_ERROR_INCOMPATIBLE_DRIVER))
        #expect(noDriver.description.contains("VK_ERROR_INCOMPATIBLE_DRIVER"))
        #expect(!noDriver.description.contains("\n"))
        #expect(VulkanError.call("vkCreateBuffer", result: vkResultName(VK_ERROR_OUT_OF_DEVICE_MEMORY)).description
            == "vkCreateBuffer failed: VK_ERROR_OUT_OF_DEVICE_MEMORY")
        #expect(vkResultName(VkResult(rawValue: -12345)) == "VkResult(-12345)")
    }

    /// Run the suite with VK_ICD_FILENAMES=/nonexistent to see this path for real: then the instance
    /// fails with noDriver and the device suites are skipped. With a driver it must open.
    @Test func instanceOpensOrReportsNoDriver() {
        do {
            _ = try VulkanInstance()
        } catch {
            guard case .noDriver = error else {
                Issue.record("expected success or noDriver, got \(error)")
                return
            }
        }
    }

    @Test func versionPacking() {
        let packed: UInt32 = (1 << 22) | (3 << 12) | 230
        #expect(VulkanVersion(packed: packed) == VulkanVersion(1, 3, 230))
        #expect(VulkanVersion(packed: packed).packed == packed)
        #expect(VulkanVersion(1, 2) < VulkanVersion(1, 3))
        #expect(VulkanVersion(1, 3, 230).description == "1.3.230")
    }
}
