import ArgumentParser
import CPUBackend
import Foundation
import Models
import Tensors
import VulkanBackend

/// `--device cpu | vulkan | vulkan:N` (and VACEKIT_DEVICE for the Vulkan device name or index).
/// Without the flag: the first Vulkan GPU (discrete, then integrated); lavapipe and "no driver" fall
/// back to the CPU backend with a one-line notice, because the CPU backend is faster than a CPU Vulkan.
enum DeviceOption {
    static func backend(_ option: String?, activations: String) throws -> any Backend {
        switch option {
        case "cpu":
            return CPUBackend()
        case nil:
            return VulkanBackendFactory.automatic(activations: activations)
        case let value? where value == "vulkan" || value.hasPrefix("vulkan:"):
            return try VulkanBackendFactory.make(selector: value == "vulkan" ? nil : String(value.dropFirst(7)), activations: activations)
        case let value?:
            throw DeviceError("--device \(value): use cpu, vulkan or vulkan:N")
        }
    }
}

enum CPUBackendChoice {
    static func make() -> any Backend { CPUBackend() }
}

struct DeviceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension WeightResidency: ExpressibleByArgument {}
