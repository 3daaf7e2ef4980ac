import CVulkan
import Foundation

/// The Vulkan instance (API 1.2) and the physical devices it sees.
///
/// `VK_KHR_portability_enumeration` is enabled when the loader has it, so MoltenVK devices are listed.
/// Set `VACEKIT_VULKAN_VALIDATION=1` to enable `VK_LAYER_KHRONOS_validation` when it is installed
/// (Debian: vulkan-validationlayers), with synchronization validation; its messages go to standard
/// error and to `validationLog`.
public final class VulkanInstance: @unchecked Sendable {
    let handle: VkInstance
    /// The loader's instance-level version (vkEnumerateInstanceVersion).
    public let loaderVersion: VulkanVersion
    public let validationEnabled: Bool
    /// The validation layer's messages (nil without validation).
    public let validationLog: ValidationLog?
    private var messenger: VkDebugUtilsMessengerEXT?

    public static let validationEnvironmentVariable = "VACEKIT_VULKAN_VALIDATION"

    /// Whether the validation layer is installed.
    public static var validationLayerAvailable: Bool { instanceLayers().contains("VK_LAYER_KHRONOS_validation") }

    /// Fails with `VulkanError.noDriver` when no Vulkan driver can be loaded.
    /// - Parameters:
    ///   - validation: enable the validation layer (when installed) with synchronization validation,
    ///     collecting its messages in `validationLog`.
    ///   - printValidation: also print each message to standard error.
    public init(validation: Bool = ProcessInfo.processInfo.environment[VulkanInstance.validationEnvironmentVariable] == "1",
                printValidation: Bool = true) throws(VulkanError) {
        var packedVersion: UInt32 = 0
        if vkEnumerateInstanceVersion(&packedVersion) != VK_SUCCESS { packedVersion = VulkanVersion.v1_1.packed }
        loaderVersion = VulkanVersion(packed: packedVersion)

        let availableExtensions = Self.instanceExtensions()
        var extensions: [String] = []
        var flags: VkInstanceCreateFlags = 0
        if availableExtensions.contains("VK_KHR_portability_enumeration") {
            extensions.append("VK_KHR_portability_enumeration")
            flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR.rawValue
        }
        let layers = validation && Self.validationLayerAvailable ? ["VK_LAYER_KHRONOS_validation"] : []
        validationEnabled = !layers.isEmpty
        let log = validationEnabled ? ValidationLog(prints: printValidation) : nil
        validationLog = log
        // With validation: a messenger from creation on, and synchronization validation (missing or
        // wrong barriers between dispatches and copies are reported as hazards).
        let chain = PNextChain()
        var messengerInfo = log?.messengerInfo()
        if validationEnabled {
            extensions.append("VK_EXT_debug_utils")
            let features = chain.append(VkValidationFeaturesEXT.self, sType: VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT)
            features.pointee.enabledValidationFeatureCount = 1
            features.pointee.pEnabledValidationFeatures = Self.synchronizationValidation
            let messenger = chain.append(VkDebugUtilsMessengerCreateInfoEXT.self, sType: VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT)
            let next = messenger.pointee.pNext
            messenger.pointee = messengerInfo!
            messenger.pointee.pNext = next
        }

        var instance: VkInstance?
        let result = withCStringArray(extensions) { extensionNames in
            withCStringArray(layers) { layerNames in
                "VaceKit".withCString { appName in
                    var app = VkApplicationInfo()
                    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
                    app.pApplicationName = appName
                    app.pEngineName = appName
                    app.apiVersion = VulkanVersion.v1_2.packed
                    return withUnsafePointer(to: &app) { appInfo in
                        var info = VkInstanceCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                        info.flags = flags
                        info.pNext = UnsafeRawPointer(chain.head)
                        info.pApplicationInfo = appInfo
                        info.enabledExtensionCount = UInt32(extensions.count)
                        info.ppEnabledExtensionNames = extensionNames
                        info.enabledLayerCount = UInt32(layers.count)
                        info.ppEnabledLayerNames = layerNames
                        return vkCreateInstance(&info, nil, &instance)
                    }
                }
            }
        }
        switch result {
        case VK_SUCCESS:
            break
        case VK_ERROR_INCOMPATIBLE_DRIVER, VK_ERROR_INITIALIZATION_FAILED:
            // The loader reports a missing or unusable ICD this way (e.g. VK_ICD_FILENAMES=/nonexistent).
            throw VulkanError.noDriver(result: vkResultName(result))
        default:
            throw VulkanError.call("vkCreateInstance", result: vkResultName(result))
        }
        guard let instance else { throw VulkanError.call("vkCreateInstance", result: "returned no instance") }
        handle = instance
        if validationEnabled, let create = vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT") {
            let createMessenger = unsafeBitCast(create, to: PFN_vkCreateDebugUtilsMessengerEXT.self)
            var messenger: VkDebugUtilsMessengerEXT?
            if createMessenger(instance, &messengerInfo!, nil, &messenger) == VK_SUCCESS { self.messenger = messenger }
        }
    }

    // Read-only after initialisation; the driver reads it during vkCreateInstance.
    nonisolated(unsafe) private static let synchronizationValidation: UnsafePointer<VkValidationFeatureEnableEXT> = {
        let feature = UnsafeMutablePointer<VkValidationFeatureEnableEXT>.allocate(capacity: 1)
        feature.initialize(to: VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT)
        return UnsafePointer(feature)
    }()

    deinit {
        if let messenger, let destroy = vkGetInstanceProcAddr(handle, "vkDestroyDebugUtilsMessengerEXT") {
            unsafeBitCast(destroy, to: PFN_vkDestroyDebugUtilsMessengerEXT.self)(handle, messenger, nil)
        }
        vkDestroyInstance(handle, nil)
    }

    /// Every physical device in the driver's order, probed. The order is stable for a given machine,
    /// so `VACEKIT_DEVICE=<index>` refers to it.
    public func physicalDevices() throws(VulkanError) -> [VulkanPhysicalDevice] {
        var count: UInt32 = 0
        try vkCheck(vkEnumeratePhysicalDevices(handle, &count, nil), "vkEnumeratePhysicalDevices")
        var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        let result = vkEnumeratePhysicalDevices(handle, &count, &handles)
        if result != VK_SUCCESS && result != VK_INCOMPLETE {
            throw VulkanError.call("vkEnumeratePhysicalDevices", result: vkResultName(result))
        }
        return handles.prefix(Int(count)).enumerated().compactMap { index, device in
            guard let device else { return nil }
            let (capabilities, family) = CapabilityProbe.probe(device, index: index)
            return VulkanPhysicalDevice(instance: self, handle: device, capabilities: capabilities, computeQueueFamily: family)
        }
    }

    private static func instanceExtensions() -> [String] {
        var count: UInt32 = 0
        guard vkEnumerateInstanceExtensionProperties(nil, &count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var properties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        guard vkEnumerateInstanceExtensionProperties(nil, &count, &properties) == VK_SUCCESS else { return [] }
        return properties.prefix(Int(count)).map { string(fromCCharTuple: $0.extensionName) }
    }

    static func instanceLayers() -> [String] {
        var count: UInt32 = 0
        guard vkEnumerateInstanceLayerProperties(&count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var properties = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
        guard vkEnumerateInstanceLayerProperties(&count, &properties) == VK_SUCCESS else { return [] }
        return properties.prefix(Int(count)).map { string(fromCCharTuple: $0.layerName) }
    }
}

/// A physical device and what it can do. Holds its instance, so the handle stays valid.
public struct VulkanPhysicalDevice: @unchecked Sendable {
    public let instance: VulkanInstance
    let handle: VkPhysicalDevice
    public let capabilities: VulkanCapabilities
    let computeQueueFamily: UInt32?
}

/// Calls `body` with a C array of C strings (`const char* const*`), valid only inside the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
