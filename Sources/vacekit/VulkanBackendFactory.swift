import Foundation
import Tensors
import VulkanBackend

/// Creates the Vulkan backend for `--device vulkan[:N]`, and makes the automatic choice.
enum VulkanBackendFactory {
    /// `vulkan` (VACEKIT_DEVICE or the automatic order) or `vulkan:N` / `vulkan:NAME`.
    static func make(selector: String?, activations: String) throws -> any Backend {
        let device = try selector.map { try VulkanDevice(selector: DeviceSelector(parsing: $0)) } ?? VulkanDevice()
        return try VulkanBackend(device: device, activations: activations == "f16" ? .f16 : .f32)
    }

    /// No `--device`: a discrete or integrated GPU through Vulkan; otherwise (only a CPU Vulkan such as
    /// lavapipe, or no driver at all) the CPU backend, which is far faster than a CPU Vulkan.
    static func automatic(activations: String) -> any Backend {
        do {
            let device = try VulkanDevice()
            switch device.capabilities.deviceType {
            case .discreteGPU, .integratedGPU, .virtualGPU:
                return try VulkanBackend(device: device, activations: activations == "f16" ? .f16 : .f32)
            default:
                FileHandle.standardError.write(Data("vacekit: no GPU found (only \(device.capabilities.name)); using the CPU backend\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("vacekit: no Vulkan device (\(error)); using the CPU backend\n".utf8))
        }
        return CPUBackendChoice.make()
    }
}
