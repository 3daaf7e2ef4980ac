import CVulkan

/// Everything that can go wrong setting up or driving a Vulkan device. Messages are one line and
/// say what to do; a failing Vulkan call carries its name and the VkResult's name.
public enum VulkanError: Error, Equatable, CustomStringConvertible {
    /// No Vulkan driver (ICD) could be loaded: vkCreateInstance failed with `result`.
    case noDriver(result: String)
    /// The driver loaded but reports no physical device that can run VaceKit (Vulkan ≥ 1.2 with a compute queue).
    case noDevice(found: [String])
    /// `VACEKIT_DEVICE` (or an explicit selector) matched no device.
    case deviceNotFound(selector: String, available: [String])
    /// A Vulkan call failed.
    case call(String, result: String)
    /// No memory type satisfies a request (for example host-visible coherent storage).
    case noSuitableMemory(String)
    /// A request exceeds what the device allows (buffer size, push constant size, binding count).
    case limitExceeded(String)
    /// The API was used wrongly (wrong binding count, a recorder reused after a failed submit, …).
    case invalidUse(String)

    public var description: String {
        switch self {
        case .noDriver(let result):
            return "no Vulkan driver found (vkCreateInstance: \(result)); install one (Debian: mesa-vulkan-drivers) or use the CPU backend"
        case .noDevice(let found):
            let list = found.isEmpty ? "none" : found.joined(separator: ", ")
            return "no usable Vulkan device (needs Vulkan 1.2 and a compute queue); found: \(list)"
        case .deviceNotFound(let selector, let available):
            let list = available.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", ")
            return "no Vulkan device matches '\(selector)' (VACEKIT_DEVICE takes an index or part of a name); available: \(list)"
        case .call(let name, let result):
            return "\(name) failed: \(result)"
        case .noSuitableMemory(let what):
            return "no suitable Vulkan memory type: \(what)"
        case .limitExceeded(let what):
            return "Vulkan device limit exceeded: \(what)"
        case .invalidUse(let what):
            return "Vulkan backend misuse: \(what)"
        }
    }
}

/// Throws `VulkanError.call` unless `result` is VK_SUCCESS.
@inline(__always)
func vkCheck(_ result: VkResult, _ call: @autoclosure () -> String) throws(VulkanError) {
    if result != VK_SUCCESS { throw VulkanError.call(call(), result: vkResultName(result)) }
}

/// The VkResult's enumerant name, e.g. "VK_ERROR_OUT_OF_DEVICE_MEMORY".
func vkResultName(_ result: VkResult) -> String {
    switch result {
    case VK_SUCCESS: return "VK_SUCCESS"
    case VK_NOT_READY: return "VK_NOT_READY"
    case VK_TIMEOUT: return "VK_TIMEOUT"
    case VK_EVENT_SET: return "VK_EVENT_SET"
    case VK_EVENT_RESET: return "VK_EVENT_RESET"
    case VK_INCOMPLETE: return "VK_INCOMPLETE"
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY"
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED"
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST"
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED"
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT"
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT"
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT"
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER"
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS"
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED"
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL"
    case VK_ERROR_UNKNOWN: return "VK_ERROR_UNKNOWN"
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY"
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE"
    case VK_ERROR_FRAGMENTATION: return "VK_ERROR_FRAGMENTATION"
    case VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS: return "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS"
    case VK_PIPELINE_COMPILE_REQUIRED: return "VK_PIPELINE_COMPILE_REQUIRED"
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV"
    default: return "VkResult(\(result.rawValue))"
    }
}
