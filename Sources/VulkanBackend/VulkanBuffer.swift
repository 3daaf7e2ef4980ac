import CVulkan

/// A storage buffer, in one of two kinds of memory:
///
/// - `.hostVisible`: host-visible, host-coherent memory mapped for the buffer's whole life; the host
///   reads and writes `contents` directly and shaders see the same bytes after the next submit.
///   The right memory for tensors on UMA devices (lavapipe, integrated GPUs, Apple), where
///   device-local memory is host-visible, and for staging buffers everywhere.
/// - `.deviceLocal`: the GPU's own memory (VRAM on a discrete GPU), preferably a type the host cannot
///   map; filled and read back through staging buffers with vkCmdCopyBuffer (`StagedTransfers`).
///
/// Each buffer is one VkDeviceMemory allocation; the backend sub-allocates tensors from large ones
/// (`TensorMemoryPool`).
public final class VulkanBuffer: @unchecked Sendable {
    public enum Placement: String, Sendable {
        /// Host-visible, preferably device-local (UMA tensors).
        case hostVisible
        /// The GPU's own memory, preferably not host-visible (tensors on a discrete GPU).
        case deviceLocal
        /// Host-visible, preferably *not* device-local and host-cached: system memory for staging on a
        /// discrete GPU (not the small BAR window of VRAM, which reads back uncached over PCIe).
        case staging
    }

    public let device: VulkanDevice
    public let byteCount: Int
    public let placement: Placement
    /// The mapped bytes of a host-visible buffer (nil for device-local ones); valid as long as the buffer.
    public let mapped: UnsafeMutableRawPointer?
    /// Whether the chosen memory is device-local (always true on UMA devices).
    public let isDeviceLocal: Bool
    let handle: VkBuffer
    private let memory: VkDeviceMemory

    /// The mapped bytes; only host-visible buffers have them.
    public var contents: UnsafeMutableRawPointer {
        guard let mapped else { preconditionFailure("a device-local buffer has no host mapping; copy it through a staging buffer") }
        return mapped
    }

    public init(device: VulkanDevice, byteCount: Int, placement: Placement = .hostVisible) throws(VulkanError) {
        let caps = device.capabilities
        guard byteCount > 0 else { throw VulkanError.invalidUse("a buffer needs at least one byte") }
        if caps.maxMemoryAllocationSize > 0, byteCount > caps.maxMemoryAllocationSize {
            throw VulkanError.limitExceeded("buffer of \(byteCount) bytes exceeds maxMemoryAllocationSize \(caps.maxMemoryAllocationSize)")
        }
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = VkDeviceSize(byteCount)
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try vkCheck(vkCreateBuffer(device.handle, &info, nil, &buffer), "vkCreateBuffer(\(byteCount) bytes)")
        guard let buffer else { throw VulkanError.call("vkCreateBuffer", result: "returned no buffer") }

        var requirements = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(device.handle, buffer, &requirements)
        guard let typeIndex = Self.memoryType(caps.memoryTypes, allowed: requirements.memoryTypeBits, placement: placement) else {
            vkDestroyBuffer(device.handle, buffer, nil)
            let wanted = placement == .deviceLocal ? "device-local" : "host-visible, host-coherent"
            throw VulkanError.noSuitableMemory("no \(wanted) memory type for a storage buffer on \(caps.name)")
        }
        var allocation = VkMemoryAllocateInfo()
        allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocation.allocationSize = requirements.size
        allocation.memoryTypeIndex = UInt32(typeIndex)
        var memory: VkDeviceMemory?
        var mapped: UnsafeMutableRawPointer?
        var result = vkAllocateMemory(device.handle, &allocation, nil, &memory)
        if result == VK_SUCCESS, let memory {
            result = vkBindBufferMemory(device.handle, buffer, memory, 0)
            if result == VK_SUCCESS, placement != .deviceLocal { result = vkMapMemory(device.handle, memory, 0, VK_WHOLE_SIZE, 0, &mapped) }
        }
        guard result == VK_SUCCESS, let memory, placement == .deviceLocal || mapped != nil else {
            if let memory { vkFreeMemory(device.handle, memory, nil) }
            vkDestroyBuffer(device.handle, buffer, nil)
            throw VulkanError.call("allocating \(byteCount) bytes of buffer memory", result: vkResultName(result))
        }
        self.device = device
        self.byteCount = byteCount
        self.handle = buffer
        self.memory = memory
        self.placement = placement
        self.mapped = mapped
        self.isDeviceLocal = caps.memoryTypes[typeIndex].isDeviceLocal
    }

    deinit {
        if mapped != nil { vkUnmapMemory(device.handle, memory) }
        vkDestroyBuffer(device.handle, handle, nil)
        vkFreeMemory(device.handle, memory, nil)
    }

    /// Host-visible: host-visible and coherent are required; device-local is preferred (UMA), then
    /// host-cached (fast read-back). Device-local: device-local is required; a type the host cannot
    /// map is preferred (the large VRAM heap rather than the small BAR window of a discrete GPU).
    static func memoryType(_ types: [VulkanCapabilities.MemoryType], allowed bits: UInt32, placement: Placement) -> Int? {
        let allowed = types.indices.filter { bits & (1 << UInt32($0)) != 0 }
        switch placement {
        case .hostVisible:
            return allowed.filter { types[$0].isHostVisible && types[$0].isHostCoherent }
                .max { hostScore(types[$0]) < hostScore(types[$1]) }
        case .staging:
            return allowed.filter { types[$0].isHostVisible && types[$0].isHostCoherent }
                .max { stagingScore(types[$0]) < stagingScore(types[$1]) }
        case .deviceLocal:
            // `max` keeps the first of equal scores, so the driver's order decides among equals.
            return allowed.filter { types[$0].isDeviceLocal }.max { deviceScore(types[$0]) < deviceScore(types[$1]) }
        }
    }

    private static func hostScore(_ type: VulkanCapabilities.MemoryType) -> Int {
        (type.isDeviceLocal ? 2 : 0) + (type.isHostCached ? 1 : 0)
    }

    private static func stagingScore(_ type: VulkanCapabilities.MemoryType) -> Int {
        (type.isDeviceLocal ? 0 : 2) + (type.isHostCached ? 1 : 0)
    }

    private static func deviceScore(_ type: VulkanCapabilities.MemoryType) -> Int {
        type.isHostVisible ? 0 : 1
    }

    /// Copies `values` into the buffer at `byteOffset`.
    public func write<T: BitwiseCopyable>(_ values: [T], at byteOffset: Int = 0) {
        let bytes = values.count * MemoryLayout<T>.stride
        precondition(byteOffset >= 0 && byteOffset + bytes <= byteCount, "write of \(bytes) bytes at \(byteOffset) overruns a \(byteCount)-byte buffer")
        values.withUnsafeBytes { (contents + byteOffset).copyMemory(from: $0.baseAddress!, byteCount: bytes) }
    }

    /// Reads `count` values of `T` starting at `byteOffset`.
    public func read<T: BitwiseCopyable>(_: T.Type, count: Int, at byteOffset: Int = 0) -> [T] {
        let bytes = count * MemoryLayout<T>.stride
        precondition(byteOffset >= 0 && byteOffset + bytes <= byteCount, "read of \(bytes) bytes at \(byteOffset) overruns a \(byteCount)-byte buffer")
        return [T](unsafeUninitializedCapacity: count) { destination, initialized in
            UnsafeMutableRawPointer(destination.baseAddress!).copyMemory(from: contents + byteOffset, byteCount: bytes)
            initialized = count
        }
    }
}

/// A byte range of a buffer bound to one shader binding. Tensors larger than
/// `maxStorageBufferRange` are bound as several ranges.
public struct BufferBinding {
    public let buffer: VulkanBuffer
    public let offset: Int
    public let size: Int

    public init(_ buffer: VulkanBuffer, offset: Int = 0, size: Int? = nil) {
        self.buffer = buffer
        self.offset = offset
        self.size = size ?? (buffer.byteCount - offset)
    }
}
