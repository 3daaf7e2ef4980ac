import CVulkan

/// Whether a device can run the matrix-core matmul (`matmul_coopmat.glsl`): VK_NV_cooperative_matrix
/// (NVIDIA, Turing and later) listing the fragment that kernel uses — 16 × 16 × 16, f16 × f16 with
/// f32 accumulation, subgroup scope — on 32-wide subgroups (the kernel's 4 subgroups × 32 invocations).
///
/// VK_KHR_cooperative_matrix (AMD RDNA3, Intel Arc, newer NVIDIA drivers) needs GL_KHR_cooperative_matrix,
/// which the shader compiler of Debian 12 (glslang 12) does not have; the NV extension is what the
/// build can target today.
enum CooperativeMatrixSupport {
    /// The fragment shape the kernel multiplies.
    static let fragment = (m: 16, n: 16, k: 16)

    /// Whether the backend runs the kernel on this device: the fragment, f16 tiles in shared memory
    /// (shaderFloat16), f16 activations (16-bit storage) and the Vulkan memory model, which glslang
    /// declares for every cooperative-matrix shader. `VulkanDevice` enables what this needs.
    static func usable(_ physical: VulkanPhysicalDevice) -> Bool {
        let caps = physical.capabilities
        return caps.shaderFloat16 && caps.storageBuffer16BitAccess && caps.vulkanMemoryModel && supportsKernel(physical)
    }

    static func supportsKernel(_ physical: VulkanPhysicalDevice) -> Bool {
        let caps = physical.capabilities
        guard caps.hasExtension("VK_NV_cooperative_matrix"), caps.subgroupSize == 32 else { return false }
        return properties(physical).contains { p in
            Int(p.MSize) == fragment.m && Int(p.NSize) == fragment.n && Int(p.KSize) == fragment.k
                && p.AType == VK_COMPONENT_TYPE_FLOAT16_NV && p.BType == VK_COMPONENT_TYPE_FLOAT16_NV
                && p.CType == VK_COMPONENT_TYPE_FLOAT32_NV && p.DType == VK_COMPONENT_TYPE_FLOAT32_NV
                && p.scope == VK_SCOPE_SUBGROUP_NV
        }
    }

    /// The fragment configurations the driver lists (empty when the entry point is missing).
    static func properties(_ physical: VulkanPhysicalDevice) -> [VkCooperativeMatrixPropertiesNV] {
        guard let address = vkGetInstanceProcAddr(physical.instance.handle, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV") else { return [] }
        let query = unsafeBitCast(address, to: PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV.self)
        var count: UInt32 = 0
        guard query(physical.handle, &count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var template = VkCooperativeMatrixPropertiesNV()
        template.sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV
        var properties = [VkCooperativeMatrixPropertiesNV](repeating: template, count: Int(count))
        guard query(physical.handle, &count, &properties) == VK_SUCCESS else { return [] }
        return Array(properties.prefix(Int(count)))
    }
}
