import Tensors
import VulkanBackend

/// Creates the Vulkan backend for `--device vulkan[:N]`.
enum VulkanBackendFactory {
    static func make(selector: String?, activations: String) throws -> any Backend {
        throw DeviceError("the Vulkan backend's op set is not built into this version yet; use --device cpu")
    }
}
