import CVulkan

/// A compute shader ready to dispatch: its module, a descriptor set layout of `bindingCount`
/// storage buffers (bindings 0..<bindingCount of set 0), a push-constant range and the pipeline.
///
/// Specialization constants are 32-bit values with constant_id 0, 1, 2, … in order, or explicit
/// (constant_id, value) pairs (pass floats as `Float.bitPattern`, bools as 0/1); workgroup sizes and
/// tile sizes go there so one SPIR-V serves every device.
///
/// Given a `PipelineDiskCache`, the driver looks the compiled pipeline up there first and adds it
/// there when it compiles it, so the next run can skip the compile.
public final class ComputePipeline: @unchecked Sendable {
    public let device: VulkanDevice
    public let name: String
    public let bindingCount: Int
    public let pushConstantSize: Int
    let setLayout: VkDescriptorSetLayout
    let layout: VkPipelineLayout
    let handle: VkPipeline

    /// - Parameters:
    ///   - requiredSubgroupSize: pin the subgroup size (VK_EXT_subgroup_size_control); the device must
    ///     have `subgroupSizeControl` and the size must lie in min…maxSubgroupSize.
    ///   - diskCache: the pipeline cache to compile through (it must belong to `device`); nil compiles
    ///     without one.
    public convenience init(device: VulkanDevice, name: String, spirv: [UInt32], bindingCount: Int, pushConstantSize: Int = 0,
                            specialization: [UInt32] = [], requiredSubgroupSize: Int? = nil,
                            diskCache: PipelineDiskCache? = nil) throws(VulkanError) {
        try self.init(device: device, name: name, spirv: spirv, bindingCount: bindingCount, pushConstantSize: pushConstantSize,
                      specializationEntries: specialization.enumerated().map { (UInt32($0.offset), $0.element) },
                      requiredSubgroupSize: requiredSubgroupSize, diskCache: diskCache)
    }

    /// Like the other initializer, with specialization constants given as (constant_id, value) pairs.
    public init(device: VulkanDevice, name: String, spirv: [UInt32], bindingCount: Int, pushConstantSize: Int = 0,
                specializationEntries: [(UInt32, UInt32)], requiredSubgroupSize: Int? = nil,
                diskCache: PipelineDiskCache? = nil) throws(VulkanError) {
        let caps = device.capabilities
        if let diskCache, diskCache.device !== device {
            throw VulkanError.invalidUse("\(name): the pipeline cache \(diskCache.fileURL.path) belongs to another device")
        }
        guard bindingCount >= 1, bindingCount <= caps.maxPerStageDescriptorStorageBuffers else {
            throw VulkanError.limitExceeded("\(name): \(bindingCount) storage buffers (device allows 1…\(caps.maxPerStageDescriptorStorageBuffers))")
        }
        guard pushConstantSize % 4 == 0, pushConstantSize <= caps.maxPushConstantsSize else {
            throw VulkanError.limitExceeded("\(name): push constants of \(pushConstantSize) bytes (a multiple of 4, at most \(caps.maxPushConstantsSize))")
        }
        if let size = requiredSubgroupSize {
            guard device.enabledFeatures.subgroupSizeControl, (caps.minSubgroupSize...caps.maxSubgroupSize).contains(size) else {
                throw VulkanError.limitExceeded("\(name): subgroup size \(size) cannot be required on \(caps.name) "
                    + "(size control \(device.enabledFeatures.subgroupSizeControl), range \(caps.minSubgroupSize)…\(caps.maxSubgroupSize))")
            }
        }
        let vkDevice = device.handle

        var moduleInfo = VkShaderModuleCreateInfo()
        moduleInfo.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
        moduleInfo.codeSize = spirv.count * 4
        var module: VkShaderModule?
        let moduleResult = spirv.withUnsafeBufferPointer { words in
            moduleInfo.pCode = words.baseAddress
            return vkCreateShaderModule(vkDevice, &moduleInfo, nil, &module)
        }
        try vkCheck(moduleResult, "vkCreateShaderModule(\(name))")
        guard let module else { throw VulkanError.call("vkCreateShaderModule(\(name))", result: "returned no module") }
        // The module is only needed while the pipeline is created.
        defer { vkDestroyShaderModule(vkDevice, module, nil) }

        var bindings = (0..<bindingCount).map { index in
            var binding = VkDescriptorSetLayoutBinding()
            binding.binding = UInt32(index)
            binding.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            binding.descriptorCount = 1
            binding.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
            return binding
        }
        var setLayout: VkDescriptorSetLayout?
        let setLayoutResult = bindings.withUnsafeMutableBufferPointer { pointer in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = UInt32(bindingCount)
            info.pBindings = UnsafePointer(pointer.baseAddress)
            return vkCreateDescriptorSetLayout(vkDevice, &info, nil, &setLayout)
        }
        try vkCheck(setLayoutResult, "vkCreateDescriptorSetLayout(\(name))")
        guard let setLayout else { throw VulkanError.call("vkCreateDescriptorSetLayout", result: "returned no layout") }

        var layout: VkPipelineLayout?
        var pushRange = VkPushConstantRange(stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, offset: 0, size: UInt32(pushConstantSize))
        var setLayouts: [VkDescriptorSetLayout?] = [setLayout]
        let layoutResult = setLayouts.withUnsafeMutableBufferPointer { layouts in
            var info = VkPipelineLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
            info.setLayoutCount = 1
            info.pSetLayouts = UnsafePointer(layouts.baseAddress)
            info.pushConstantRangeCount = pushConstantSize > 0 ? 1 : 0
            return withUnsafePointer(to: &pushRange) { range in
                info.pPushConstantRanges = range
                return vkCreatePipelineLayout(vkDevice, &info, nil, &layout)
            }
        }
        guard layoutResult == VK_SUCCESS, let layout else {
            vkDestroyDescriptorSetLayout(vkDevice, setLayout, nil)
            throw VulkanError.call("vkCreatePipelineLayout(\(name))", result: vkResultName(layoutResult))
        }

        var pipeline: VkPipeline?
        let pipelineResult = Self.createPipeline(
            vkDevice, cache: diskCache?.handle, module: module, layout: layout, specialization: specializationEntries,
            requiredSubgroupSize: requiredSubgroupSize, into: &pipeline)
        guard pipelineResult == VK_SUCCESS, let pipeline else {
            vkDestroyPipelineLayout(vkDevice, layout, nil)
            vkDestroyDescriptorSetLayout(vkDevice, setLayout, nil)
            throw VulkanError.call("vkCreateComputePipelines(\(name))", result: vkResultName(pipelineResult))
        }
        diskCache?.pipelineCreated()
        self.device = device
        self.name = name
        self.bindingCount = bindingCount
        self.pushConstantSize = pushConstantSize
        self.setLayout = setLayout
        self.layout = layout
        self.handle = pipeline
    }

    deinit {
        vkDestroyPipeline(device.handle, handle, nil)
        vkDestroyPipelineLayout(device.handle, layout, nil)
        vkDestroyDescriptorSetLayout(device.handle, setLayout, nil)
    }

    private static func createPipeline(
        _ device: VkDevice, cache: VkPipelineCache?, module: VkShaderModule, layout: VkPipelineLayout, specialization pairs: [(UInt32, UInt32)],
        requiredSubgroupSize: Int?, into pipeline: inout VkPipeline?
    ) -> VkResult {
        let specialization = pairs.map(\.1)
        var entries = pairs.indices.map {
            VkSpecializationMapEntry(constantID: pairs[$0].0, offset: UInt32($0 * 4), size: 4)
        }
        let chain = PNextChain()
        if let size = requiredSubgroupSize {
            let required = chain.append(
                VkPipelineShaderStageRequiredSubgroupSizeCreateInfo.self,
                sType: VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO)
            required.pointee.requiredSubgroupSize = UInt32(size)
        }
        return entries.withUnsafeMutableBufferPointer { entryPointer in
            specialization.withUnsafeBytes { data in
                var specializationInfo = VkSpecializationInfo(
                    mapEntryCount: UInt32(specialization.count), pMapEntries: UnsafePointer(entryPointer.baseAddress),
                    dataSize: data.count, pData: data.baseAddress)
                return withUnsafePointer(to: &specializationInfo) { specializationPointer in
                    "main".withCString { entryName in
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        info.stage.pNext = UnsafeRawPointer(chain.head)
                        info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        info.stage.module = module
                        info.stage.pName = entryName
                        info.stage.pSpecializationInfo = specialization.isEmpty ? nil : specializationPointer
                        info.layout = layout
                        return vkCreateComputePipelines(device, cache, 1, &info, nil, &pipeline)
                    }
                }
            }
        }
    }
}
