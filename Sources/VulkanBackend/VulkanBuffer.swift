import CVulkan

/// A storage buffer in host-visible, host-coherent memory, mapped for its whole life: the host
/// reads and writes `contents` directly and shaders see the same bytes after the next submit.
///
/// This is the right memory on UMA devices (lavapipe, integrated GPUs, Apple), where device-local
/// memory is host-visible. On discrete GPUs tensors belong in device-local memory that the host
/// cannot map, filled through a host-visible staging buffer with vkCmdCopyBuffer (the hook for it is
/// `HostUpload`; today a discrete GPU reads this memory over the bus). Each buffer is one
/// VkDeviceMemory allocation; the backend sub-allocates tensors from large ones (`TensorMemoryPool`).
public final class VulkanBuffer: @unchecked Sendable {
    public let device: VulkanDevice
    public let byteCount: Int
    /// The mapped bytes; valid as long as the buffer.
    public let contents: UnsafeMutableRawPointer
    /// Whether the chosen memory is device-local (always true on UMA devices).
    public let isDeviceLocal: Bool
    let handle: VkBuffer
    private let memory: VkDeviceMemory

    public init(device: VulkanDevice, byteCount: Int) throws(VulkanError) {
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
        guard let typeIndex = Self.memoryType(caps.memoryTypes, allowed: requirements.memoryTypeBits) else {
            vkDestroyBuffer(device.handle, buffer, nil)
            throw VulkanError.noSuitableMemory("no host-visible, host-coherent memory type for a storage buffer on \(caps.name)")
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
            if result == VK_SUCCESS { result = vkMapMemory(device.handle, memory, 0, VK_WHOLE_SIZE, 0, &mapped) }
        }
        guard result == VK_SUCCESS, let memory, let mapped else {
            if let memory { vkFreeMemory(device.handle, memory, nil) }
            vkDestroyBuffer(device.handle, buffer, nil)
            throw VulkanError.call("allocating \(byteCount) bytes of buffer memory", result: vkResultName(result))
        }
        self.device = device
        self.byteCount = byteCount
        self.handle = buffer
        self.memory = memory
        self.contents = mapped
        self.isDeviceLocal = caps.memoryTypes[typeIndex].isDeviceLocal
    }

    deinit {
        vkUnmapMemory(device.handle, memory)
        vkDestroyBuffer(device.handle, handle, nil)
        vkFreeMemory(device.handle, memory, nil)
    }

    /// Host-visible and coherent are required; device-local is preferred (UMA), then host-cached
    /// (fast read-back).
    static func memoryType(_ types: [VulkanCapabilities.MemoryType], allowed bits: UInt32) -> Int? {
        types.indices
            .filter { bits & (1 << UInt32($0)) != 0 && types[$0].isHostVisible && types[$0].isHostCoherent }
            .max { score(types[$0]) < score(types[$1]) }
    }

    private static func score(_ type: VulkanCapabilities.MemoryType) -> Int {
        (type.isDeviceLocal ? 2 : 0) + (type.isHostCached ? 1 : 0)
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
