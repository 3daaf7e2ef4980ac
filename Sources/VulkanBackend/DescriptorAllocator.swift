import CVulkan

/// Descriptor sets for one recording, taken from pools that grow on demand and are all reset
/// together once the submit they served has completed.
final class DescriptorAllocator {
    private let device: VulkanDevice
    private var pools: [VkDescriptorPool] = []
    private var current = 0

    static let setsPerPool = 256
    static let buffersPerPool = 256 * 8

    init(device: VulkanDevice) {
        self.device = device
    }

    deinit {
        for pool in pools { vkDestroyDescriptorPool(device.handle, pool, nil) }
    }

    func allocate(layout: VkDescriptorSetLayout, bindingCount: Int) throws(VulkanError) -> VkDescriptorSet {
        guard bindingCount <= Self.buffersPerPool else {
            throw VulkanError.limitExceeded("\(bindingCount) bindings in one descriptor set (pool holds \(Self.buffersPerPool))")
        }
        while true {
            if current == pools.count { pools.append(try makePool()) }
            var set: VkDescriptorSet?
            var layouts: [VkDescriptorSetLayout?] = [layout]
            let result = layouts.withUnsafeMutableBufferPointer { pointer in
                var info = VkDescriptorSetAllocateInfo()
                info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
                info.descriptorPool = pools[current]
                info.descriptorSetCount = 1
                info.pSetLayouts = UnsafePointer(pointer.baseAddress)
                return vkAllocateDescriptorSets(device.handle, &info, &set)
            }
            if result == VK_SUCCESS, let set { return set }
            guard result == VK_ERROR_OUT_OF_POOL_MEMORY || result == VK_ERROR_FRAGMENTED_POOL else {
                throw VulkanError.call("vkAllocateDescriptorSets", result: vkResultName(result))
            }
            current += 1  // this pool is full: move to the next, making one if needed
        }
    }

    /// Returns every set to its pool; only after the GPU has finished with them.
    func reset() {
        for pool in pools { vkResetDescriptorPool(device.handle, pool, 0) }
        current = 0
    }

    private func makePool() throws(VulkanError) -> VkDescriptorPool {
        var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: UInt32(Self.buffersPerPool))
        var pool: VkDescriptorPool?
        let result = withUnsafePointer(to: &size) { sizes in
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = UInt32(Self.setsPerPool)
            info.poolSizeCount = 1
            info.pPoolSizes = sizes
            return vkCreateDescriptorPool(device.handle, &info, nil, &pool)
        }
        try vkCheck(result, "vkCreateDescriptorPool")
        guard let pool else { throw VulkanError.call("vkCreateDescriptorPool", result: "returned no pool") }
        return pool
    }
}
