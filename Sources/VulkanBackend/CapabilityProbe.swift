import CVulkan

/// Reads a physical device's properties, features, queues and memory into `VulkanCapabilities`.
/// Vulkan 1.1/1.2 structs are chained only on devices of that version; extension structs only when
/// the device lists the extension (the instance is 1.2, so 1.3 core features arrive as extensions).
enum CapabilityProbe {
    static func probe(_ device: VkPhysicalDevice, index: Int) -> (VulkanCapabilities, computeQueueFamily: UInt32?) {
        var basic = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(device, &basic)
        let api = VulkanVersion(packed: basic.apiVersion)
        let extensions = deviceExtensions(device)
        let hasSizeControl = extensions.contains("VK_EXT_subgroup_size_control")
        let hasDotProduct = extensions.contains("VK_KHR_shader_integer_dot_product")
        let limits = basic.limits
        let (queueFamily, timestamps) = computeQueueFamily(device)

        var caps = VulkanCapabilities(
            index: index, name: string(fromCCharTuple: basic.deviceName), deviceType: deviceType(basic.deviceType),
            vendorID: basic.vendorID, deviceID: basic.deviceID, apiVersion: api, driverVersion: basic.driverVersion,
            driverName: "", driverInfo: "",
            shaderFloat16: false, shaderInt8: false, storageBuffer16BitAccess: false, storageBuffer8BitAccess: false,
            subgroupSize: 1, minSubgroupSize: 1, maxSubgroupSize: 1, subgroupOperations: [], subgroupsInCompute: false,
            subgroupSizeControl: false, computeFullSubgroups: false,
            integerDotProduct: false, integerDotProductAccelerated: false,
            cooperativeMatrix: extensions.contains("VK_KHR_cooperative_matrix") || extensions.contains("VK_NV_cooperative_matrix"),
            maxStorageBufferRange: Int(limits.maxStorageBufferRange), maxMemoryAllocationSize: 0,
            maxComputeSharedMemorySize: Int(limits.maxComputeSharedMemorySize),
            maxComputeWorkGroupSize: array(fromTuple: limits.maxComputeWorkGroupSize, of: UInt32.self, count: 3).map { Int($0) },
            maxComputeWorkGroupInvocations: Int(limits.maxComputeWorkGroupInvocations),
            maxComputeWorkGroupCount: array(fromTuple: limits.maxComputeWorkGroupCount, of: UInt32.self, count: 3).map { Int($0) },
            maxPushConstantsSize: Int(limits.maxPushConstantsSize),
            maxPerStageDescriptorStorageBuffers: Int(limits.maxPerStageDescriptorStorageBuffers),
            minStorageBufferOffsetAlignment: Int(limits.minStorageBufferOffsetAlignment),
            timestampPeriod: Double(limits.timestampPeriod),
            hasComputeQueue: queueFamily != nil, computeQueueTimestamps: timestamps,
            memoryHeaps: [], memoryTypes: [], extensions: extensions.sorted())
        probeMemory(device, into: &caps)
        guard api >= .v1_1 else { return (caps, queueFamily) }

        // Properties
        let properties = PNextChain()
        let p11 = api >= .v1_2 ? properties.append(VkPhysicalDeviceVulkan11Properties.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES) : nil
        let p12 = api >= .v1_2 ? properties.append(VkPhysicalDeviceVulkan12Properties.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES) : nil
        let p11Subgroup = api < .v1_2 ? properties.append(VkPhysicalDeviceSubgroupProperties.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES) : nil
        let maintenance3 = api < .v1_2 ? properties.append(VkPhysicalDeviceMaintenance3Properties.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES) : nil
        let sizeControl = hasSizeControl ? properties.append(VkPhysicalDeviceSubgroupSizeControlProperties.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES) : nil
        let dotProduct = hasDotProduct ? properties.append(VkPhysicalDeviceShaderIntegerDotProductProperties.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES) : nil
        var properties2 = VkPhysicalDeviceProperties2()
        properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        properties2.pNext = properties.head
        vkGetPhysicalDeviceProperties2(device, &properties2)

        if let maintenance3 { caps.maxMemoryAllocationSize = Int(maintenance3.pointee.maxMemoryAllocationSize) }
        if let p11 {
            caps.maxMemoryAllocationSize = Int(p11.pointee.maxMemoryAllocationSize)
            caps.subgroupSize = Int(p11.pointee.subgroupSize)
            caps.subgroupOperations = .init(rawValue: p11.pointee.subgroupSupportedOperations)
            caps.subgroupsInCompute = p11.pointee.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT.rawValue != 0
        }
        if let p11Subgroup {
            caps.subgroupSize = Int(p11Subgroup.pointee.subgroupSize)
            caps.subgroupOperations = .init(rawValue: p11Subgroup.pointee.supportedOperations)
            caps.subgroupsInCompute = p11Subgroup.pointee.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT.rawValue != 0
        }
        if let p12 {
            caps.driverName = string(fromCCharTuple: p12.pointee.driverName)
            caps.driverInfo = string(fromCCharTuple: p12.pointee.driverInfo)
        }
        caps.minSubgroupSize = caps.subgroupSize
        caps.maxSubgroupSize = caps.subgroupSize
        if let sizeControl {
            caps.minSubgroupSize = Int(sizeControl.pointee.minSubgroupSize)
            caps.maxSubgroupSize = Int(sizeControl.pointee.maxSubgroupSize)
        }
        if let dotProduct {
            // The W8A8 kernel uses the packed 4×8-bit signed form (OpSDot, PackedVectorFormat4x8Bit).
            caps.integerDotProductAccelerated = dotProduct.pointee.integerDotProduct4x8BitPackedSignedAccelerated == VK_TRUE
        }

        let features = probeFeatures(device, api: api, sizeControl: hasSizeControl, dotProduct: hasDotProduct)
        caps.shaderFloat16 = features.shaderFloat16
        caps.shaderInt8 = features.shaderInt8
        caps.storageBuffer16BitAccess = features.storageBuffer16BitAccess
        caps.storageBuffer8BitAccess = features.storageBuffer8BitAccess
        caps.subgroupSizeControl = features.subgroupSizeControl
        caps.computeFullSubgroups = features.computeFullSubgroups
        caps.integerDotProduct = features.integerDotProduct
        caps.vulkanMemoryModel = features.vulkanMemoryModel
        if caps.subgroupSizeControl, let sizeControl {
            // Pinning the size in compute needs the stage listed, not just the feature.
            caps.subgroupSizeControl = sizeControl.pointee.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT.rawValue != 0
        }
        return (caps, queueFamily)
    }

    /// The features VaceKit can use; `VulkanDevice` enables exactly these.
    static func probeFeatures(_ device: VkPhysicalDevice, api: VulkanVersion, sizeControl: Bool, dotProduct: Bool) -> EnabledFeatures {
        guard api >= .v1_2 else { return EnabledFeatures() }
        let chain = PNextChain()
        let f11 = chain.append(VkPhysicalDeviceVulkan11Features.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES)
        let f12 = chain.append(VkPhysicalDeviceVulkan12Features.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES)
        let fSize = sizeControl ? chain.append(VkPhysicalDeviceSubgroupSizeControlFeatures.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES) : nil
        let fDot = dotProduct ? chain.append(VkPhysicalDeviceShaderIntegerDotProductFeatures.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES) : nil
        var features2 = VkPhysicalDeviceFeatures2()
        features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        features2.pNext = chain.head
        vkGetPhysicalDeviceFeatures2(device, &features2)
        return EnabledFeatures(
            shaderFloat16: f12.pointee.shaderFloat16 == VK_TRUE,
            shaderInt8: f12.pointee.shaderInt8 == VK_TRUE,
            storageBuffer16BitAccess: f11.pointee.storageBuffer16BitAccess == VK_TRUE,
            storageBuffer8BitAccess: f12.pointee.storageBuffer8BitAccess == VK_TRUE,
            subgroupSizeControl: fSize?.pointee.subgroupSizeControl == VK_TRUE,
            computeFullSubgroups: fSize?.pointee.computeFullSubgroups == VK_TRUE,
            integerDotProduct: fDot?.pointee.shaderIntegerDotProduct == VK_TRUE,
            vulkanMemoryModel: f12.pointee.vulkanMemoryModel == VK_TRUE)
    }

    static func deviceExtensions(_ device: VkPhysicalDevice) -> [String] {
        var count: UInt32 = 0
        guard vkEnumerateDeviceExtensionProperties(device, nil, &count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var properties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        guard vkEnumerateDeviceExtensionProperties(device, nil, &count, &properties) == VK_SUCCESS else { return [] }
        return properties.prefix(Int(count)).map { string(fromCCharTuple: $0.extensionName) }
    }

    /// The first queue family with compute and timestamps, else the first with compute.
    private static func computeQueueFamily(_ device: VkPhysicalDevice) -> (UInt32?, timestamps: Bool) {
        var count: UInt32 = 0
        vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(count))
        vkGetPhysicalDeviceQueueFamilyProperties(device, &count, &families)
        let compute = families.indices.filter {
            families[$0].queueFlags & VK_QUEUE_COMPUTE_BIT.rawValue != 0 && families[$0].queueCount > 0
        }
        if let timed = compute.first(where: { families[$0].timestampValidBits > 0 }) { return (UInt32(timed), true) }
        return (compute.first.map(UInt32.init), false)
    }

    private static func probeMemory(_ device: VkPhysicalDevice, into caps: inout VulkanCapabilities) {
        var memory = VkPhysicalDeviceMemoryProperties()
        vkGetPhysicalDeviceMemoryProperties(device, &memory)
        caps.memoryHeaps = array(fromTuple: memory.memoryHeaps, of: VkMemoryHeap.self, count: Int(memory.memoryHeapCount)).map {
            .init(size: Int($0.size), isDeviceLocal: $0.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0)
        }
        caps.memoryTypes = array(fromTuple: memory.memoryTypes, of: VkMemoryType.self, count: Int(memory.memoryTypeCount)).map {
            let flags = $0.propertyFlags
            return .init(
                heapIndex: Int($0.heapIndex),
                isDeviceLocal: flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue != 0,
                isHostVisible: flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue != 0,
                isHostCoherent: flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue != 0,
                isHostCached: flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue != 0)
        }
    }

    private static func deviceType(_ type: VkPhysicalDeviceType) -> VulkanCapabilities.DeviceType {
        switch type {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return .discreteGPU
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return .integratedGPU
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return .virtualGPU
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return .cpu
        default: return .other
        }
    }
}
