import Foundation
/// What a physical device offers, probed once at enumeration. Kernels pick their variant from this
/// (f16 or f32 storage, subgroup width, shared-memory tile size) and the allocator its strategy (UMA or staging).
public struct VulkanCapabilities: Sendable, Equatable {
    public enum DeviceType: String, Sendable {
        case discreteGPU = "discrete GPU", integratedGPU = "integrated GPU", virtualGPU = "virtual GPU"
        case cpu = "CPU", other = "other"
    }

    public struct MemoryHeap: Sendable, Equatable {
        public var size: Int
        public var isDeviceLocal: Bool
    }

    public struct MemoryType: Sendable, Equatable {
        public var heapIndex: Int
        public var isDeviceLocal: Bool
        public var isHostVisible: Bool
        public var isHostCoherent: Bool
        public var isHostCached: Bool
    }

    /// VkSubgroupFeatureFlagBits.
    public struct SubgroupOperations: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let basic = Self(rawValue: 0x1)
        public static let vote = Self(rawValue: 0x2)
        public static let arithmetic = Self(rawValue: 0x4)
        public static let ballot = Self(rawValue: 0x8)
        public static let shuffle = Self(rawValue: 0x10)
        public static let shuffleRelative = Self(rawValue: 0x20)
        public static let clustered = Self(rawValue: 0x40)
        public static let quad = Self(rawValue: 0x80)

        static let names: [(Self, String)] = [
            (.basic, "basic"), (.vote, "vote"), (.arithmetic, "arithmetic"), (.ballot, "ballot"),
            (.shuffle, "shuffle"), (.shuffleRelative, "shuffle-relative"), (.clustered, "clustered"), (.quad, "quad"),
        ]
        public var names: [String] { Self.names.filter { contains($0.0) }.map(\.1) }
    }

    // Identity
    /// Position in vkEnumeratePhysicalDevices order (what `VACEKIT_DEVICE=<index>` refers to).
    public var index: Int
    /// e.g. "llvmpipe (LLVM 15.0.6, 256 bits)", "NVIDIA GeForce RTX 4090".
    public var name: String
    public var deviceType: DeviceType
    public var vendorID: UInt32
    public var deviceID: UInt32
    public var apiVersion: VulkanVersion
    /// Vendor-encoded; `driverName`/`driverInfo` are the readable form.
    public var driverVersion: UInt32
    public var driverName: String
    public var driverInfo: String

    // Arithmetic and storage features
    public var shaderFloat16: Bool
    public var shaderInt8: Bool
    public var storageBuffer16BitAccess: Bool
    public var storageBuffer8BitAccess: Bool

    // Subgroups
    public var subgroupSize: Int
    /// Range selectable with VK_EXT_subgroup_size_control; both equal `subgroupSize` without it.
    public var minSubgroupSize: Int
    public var maxSubgroupSize: Int
    public var subgroupOperations: SubgroupOperations
    public var subgroupsInCompute: Bool
    public var subgroupSizeControl: Bool
    public var computeFullSubgroups: Bool

    // Matrix and dot-product hardware
    /// VK_KHR_shader_integer_dot_product (dp4a-style int8 dot products in shaders).
    public var integerDotProduct: Bool
    /// The 4×8-bit packed signed dot product runs on dedicated hardware rather than being emulated.
    public var integerDotProductAccelerated: Bool
    /// VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix (tensor/matrix cores).
    public var cooperativeMatrix: Bool
    /// The Vulkan memory model feature (needed by the cooperative-matrix shaders).
    public var vulkanMemoryModel = false

    // Limits
    public var maxStorageBufferRange: Int
    public var maxMemoryAllocationSize: Int
    public var maxComputeSharedMemorySize: Int
    public var maxComputeWorkGroupSize: [Int]
    public var maxComputeWorkGroupInvocations: Int
    public var maxComputeWorkGroupCount: [Int]
    public var maxPushConstantsSize: Int
    public var maxPerStageDescriptorStorageBuffers: Int
    public var minStorageBufferOffsetAlignment: Int
    /// Nanoseconds per timestamp tick.
    public var timestampPeriod: Double

    // Queues and memory
    public var hasComputeQueue: Bool
    public var computeQueueTimestamps: Bool
    public var memoryHeaps: [MemoryHeap]
    public var memoryTypes: [MemoryType]
    public var extensions: [String]

    /// Unified memory: every device-local heap has a memory type that is both device-local and
    /// host-visible, so tensors can live in mappable memory and no staging copies are needed
    /// (integrated GPUs, lavapipe, Apple). A discrete GPU with resizable BAR also qualifies; host
    /// reads of such memory are uncached and slow, so read-back paths should still prefer a cached type.
    public var isUMA: Bool {
        let deviceLocalHeaps = memoryHeaps.indices.filter { memoryHeaps[$0].isDeviceLocal }
        guard !deviceLocalHeaps.isEmpty else { return false }
        return deviceLocalHeaps.allSatisfy { heap in
            memoryTypes.contains { $0.heapIndex == heap && $0.isDeviceLocal && $0.isHostVisible }
        }
    }

    /// Vulkan 1.2 and a compute queue: what VaceKit needs at the least.
    public var meetsRequirements: Bool { apiVersion >= .v1_2 && hasComputeQueue }

    public func hasExtension(_ name: String) -> Bool { extensions.contains(name) }
}

extension VulkanCapabilities {
    /// A listing for `vacekit devices`: the first line is the device name, then one indented line per topic.
    public func describe() -> String {
        func yesNo(_ value: Bool) -> String { value ? "yes" : "no" }
        func bytes(_ count: Int) -> String {
            if count >= 1 << 30, count % (1 << 30) == 0 { return "\(count >> 30) GiB" }
            if count >= 1 << 30 { return String(format: "%.1f GiB", Double(count) / Double(1 << 30)) }
            if count >= 1 << 20 { return "\(count >> 20) MiB" }
            if count >= 1 << 10 { return "\(count >> 10) KiB" }
            return "\(count) B"
        }
        let heaps = memoryHeaps.enumerated().map { index, heap in
            "heap \(index) \(bytes(heap.size))\(heap.isDeviceLocal ? " device-local" : "")"
        }
        let subgroupRange = minSubgroupSize == maxSubgroupSize ? "" : " (\(minSubgroupSize)–\(maxSubgroupSize))"
        let dot = integerDotProduct ? (integerDotProductAccelerated ? "yes, accelerated" : "yes, emulated") : "no"
        var lines = [name]
        lines.append("  device \(index): \(deviceType.rawValue), Vulkan \(apiVersion), driver \(driverName) \(driverInfo)"
            + String(format: ", vendor 0x%04x device 0x%04x", vendorID, deviceID))
        if !meetsRequirements { lines.append("  not usable: VaceKit needs Vulkan 1.2 and a compute queue") }
        lines.append("  f16 arithmetic \(yesNo(shaderFloat16)), int8 arithmetic \(yesNo(shaderInt8)), "
            + "16-bit storage \(yesNo(storageBuffer16BitAccess)), 8-bit storage \(yesNo(storageBuffer8BitAccess))")
        lines.append("  subgroups: size \(subgroupSize)\(subgroupRange), compute \(yesNo(subgroupsInCompute)), "
            + "ops \(subgroupOperations.names.joined(separator: " ")), size control \(yesNo(subgroupSizeControl))")
        lines.append("  integer dot product \(dot), cooperative matrix \(yesNo(cooperativeMatrix))")
        lines.append("  limits: storage buffer range \(bytes(maxStorageBufferRange)), allocation \(bytes(maxMemoryAllocationSize)), "
            + "shared memory \(bytes(maxComputeSharedMemorySize)), workgroup "
            + maxComputeWorkGroupSize.map(String.init).joined(separator: "×")
            + " (\(maxComputeWorkGroupInvocations) invocations), push constants \(maxPushConstantsSize) B")
        lines.append("  memory: \(heaps.joined(separator: ", ")); UMA \(yesNo(isUMA)); timestamps \(yesNo(computeQueueTimestamps))")
        return lines.joined(separator: "\n")
    }
}
