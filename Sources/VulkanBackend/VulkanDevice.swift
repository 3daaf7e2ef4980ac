import CVulkan
import Foundation

/// The optional features a device was created with; kernels check these to pick their variant.
public struct EnabledFeatures: Sendable, Equatable {
    public var shaderFloat16 = false
    public var shaderInt8 = false
    public var storageBuffer16BitAccess = false
    public var storageBuffer8BitAccess = false
    public var subgroupSizeControl = false
    public var computeFullSubgroups = false
    public var integerDotProduct = false
    /// VK_NV_cooperative_matrix with the fragment the matrix-core matmul uses (`CooperativeMatrixSupport`).
    public var cooperativeMatrix = false
    /// The Vulkan memory model (glslang declares it for every cooperative-matrix shader).
    public var vulkanMemoryModel = false

    public init() {}

    init(shaderFloat16: Bool, shaderInt8: Bool, storageBuffer16BitAccess: Bool, storageBuffer8BitAccess: Bool,
         subgroupSizeControl: Bool, computeFullSubgroups: Bool, integerDotProduct: Bool, vulkanMemoryModel: Bool) {
        self.shaderFloat16 = shaderFloat16
        self.shaderInt8 = shaderInt8
        self.storageBuffer16BitAccess = storageBuffer16BitAccess
        self.storageBuffer8BitAccess = storageBuffer8BitAccess
        self.subgroupSizeControl = subgroupSizeControl
        self.computeFullSubgroups = computeFullSubgroups
        self.integerDotProduct = integerDotProduct
        self.vulkanMemoryModel = vulkanMemoryModel
    }
}

/// A logical device with one compute queue. Queue submission is serialised by a lock, so buffers,
/// pipelines and recorders on different threads can share one device.
public final class VulkanDevice: @unchecked Sendable {
    public let physicalDevice: VulkanPhysicalDevice
    public let enabledFeatures: EnabledFeatures
    let handle: VkDevice
    let queue: VkQueue
    let queueFamilyIndex: UInt32
    private let queueLock = NSLock()

    public var capabilities: VulkanCapabilities { physicalDevice.capabilities }

    /// Opens the device `selector` picks (by default `VACEKIT_DEVICE`, else the best device) on a new instance.
    public convenience init(selector: DeviceSelector = .fromEnvironment()) throws(VulkanError) {
        let instance = try VulkanInstance()
        try self.init(physicalDevice: instance.selectDevice(selector))
    }

    /// Creates the logical device, enabling whichever of f16/int8 arithmetic, 8/16-bit storage,
    /// subgroup size control and integer dot product the device has.
    public init(physicalDevice: VulkanPhysicalDevice) throws(VulkanError) {
        let caps = physicalDevice.capabilities
        guard caps.meetsRequirements, let family = physicalDevice.computeQueueFamily else {
            throw VulkanError.noDevice(found: ["\(caps.name) (Vulkan \(caps.apiVersion))"])
        }
        let supported = CapabilityProbe.probeFeatures(
            physicalDevice.handle, api: caps.apiVersion,
            sizeControl: caps.hasExtension("VK_EXT_subgroup_size_control"),
            dotProduct: caps.hasExtension("VK_KHR_shader_integer_dot_product"))
        var features = supported
        // Only usable for compute when the compute stage may have its size pinned (see CapabilityProbe).
        features.subgroupSizeControl = supported.subgroupSizeControl && caps.subgroupSizeControl
        features.computeFullSubgroups = features.subgroupSizeControl && supported.computeFullSubgroups

        let chain = PNextChain()
        let f11 = chain.append(VkPhysicalDeviceVulkan11Features.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES)
        f11.pointee.storageBuffer16BitAccess = features.storageBuffer16BitAccess ? VK_TRUE : 0
        let f12 = chain.append(VkPhysicalDeviceVulkan12Features.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES)
        f12.pointee.shaderFloat16 = features.shaderFloat16 ? VK_TRUE : 0
        f12.pointee.shaderInt8 = features.shaderInt8 ? VK_TRUE : 0
        f12.pointee.storageBuffer8BitAccess = features.storageBuffer8BitAccess ? VK_TRUE : 0
        var extensions: [String] = []
        if features.subgroupSizeControl {
            let size = chain.append(VkPhysicalDeviceSubgroupSizeControlFeatures.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES)
            size.pointee.subgroupSizeControl = VK_TRUE
            size.pointee.computeFullSubgroups = features.computeFullSubgroups ? VK_TRUE : 0
            extensions.append("VK_EXT_subgroup_size_control")
        }
        if features.integerDotProduct {
            let dot = chain.append(VkPhysicalDeviceShaderIntegerDotProductFeatures.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES)
            dot.pointee.shaderIntegerDotProduct = VK_TRUE
            extensions.append("VK_KHR_shader_integer_dot_product")
        }
        features.cooperativeMatrix = CooperativeMatrixSupport.usable(physicalDevice)
        // Only enabled for the shaders that need it.
        features.vulkanMemoryModel = features.cooperativeMatrix
        f12.pointee.vulkanMemoryModel = features.vulkanMemoryModel ? VK_TRUE : 0
        if features.cooperativeMatrix {
            let matrix = chain.append(VkPhysicalDeviceCooperativeMatrixFeaturesNV.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV)
            matrix.pointee.cooperativeMatrix = VK_TRUE
            extensions.append("VK_NV_cooperative_matrix")
        }
        if caps.hasExtension("VK_KHR_portability_subset") {
            extensions.append("VK_KHR_portability_subset")  // required whenever the device lists it (MoltenVK)
        }
        let features2 = chain.append(VkPhysicalDeviceFeatures2.self, sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2)

        var device: VkDevice?
        var priority: Float = 1
        let result = withCStringArray(extensions) { extensionNames in
            withUnsafePointer(to: &priority) { priorityPointer in
                var queueInfo = VkDeviceQueueCreateInfo()
                queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                queueInfo.queueFamilyIndex = family
                queueInfo.queueCount = 1
                queueInfo.pQueuePriorities = priorityPointer
                return withUnsafePointer(to: &queueInfo) { queuePointer in
                    var info = VkDeviceCreateInfo()
                    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                    info.pNext = UnsafeRawPointer(features2)  // features via the chain; pEnabledFeatures stays nil
                    info.queueCreateInfoCount = 1
                    info.pQueueCreateInfos = queuePointer
                    info.enabledExtensionCount = UInt32(extensions.count)
                    info.ppEnabledExtensionNames = extensionNames
                    return vkCreateDevice(physicalDevice.handle, &info, nil, &device)
                }
            }
        }
        try vkCheck(result, "vkCreateDevice(\(caps.name))")
        guard let device else { throw VulkanError.call("vkCreateDevice", result: "returned no device") }
        var queue: VkQueue?
        vkGetDeviceQueue(device, family, 0, &queue)
        guard let queue else {
            vkDestroyDevice(device, nil)
            throw VulkanError.call("vkGetDeviceQueue", result: "returned no queue")
        }
        self.physicalDevice = physicalDevice
        self.enabledFeatures = features
        self.handle = device
        self.queue = queue
        self.queueFamilyIndex = family
    }

    deinit {
        vkDeviceWaitIdle(handle)
        vkDestroyDevice(handle, nil)
    }

    /// Submits one command buffer, signalling `fence` when it completes. Serialised across threads.
    func submit(_ commandBuffer: VkCommandBuffer, fence: VkFence) throws(VulkanError) {
        var buffer: VkCommandBuffer? = commandBuffer
        let result = withUnsafePointer(to: &buffer) { buffers in
            var info = VkSubmitInfo()
            info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            info.commandBufferCount = 1
            info.pCommandBuffers = buffers
            return queueLock.withLock { vkQueueSubmit(queue, 1, &info, fence) }
        }
        try vkCheck(result, "vkQueueSubmit")
    }

    /// Blocks until the device has finished all submitted work.
    public func waitIdle() throws(VulkanError) {
        try vkCheck(queueLock.withLock { vkDeviceWaitIdle(handle) }, "vkDeviceWaitIdle")
    }
}
