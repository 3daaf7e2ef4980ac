import CPUBackend
import Foundation
import Tensors
import VulkanBackend

/// Which backend runs a model: `cpu`, `vulkan` (the automatic device order or VACEKIT_DEVICE), `vulkan:N`
/// / `vulkan:NAME`, or nil for the automatic choice. The command line and library users share this, so a
/// program embedding VaceKit picks devices exactly as `vacekit` does.
public enum DeviceRequest: Equatable, Sendable {
    case automatic
    case cpu
    case vulkan(selector: String?)

    /// Parses the value of `--device` (nil: automatic).
    public init(parsing value: String?) throws {
        switch value {
        case nil: self = .automatic
        case "cpu": self = .cpu
        case "vulkan": self = .vulkan(selector: nil)
        case let v? where v.hasPrefix("vulkan:") && v.count > 7: self = .vulkan(selector: String(v.dropFirst(7)))
        case let v?: throw RuntimeError("--device \(v): use cpu, vulkan or vulkan:N")
        }
    }
}

/// Activation precision of the Vulkan backend; on the CPU backend (which computes in f32) f16 keeps the
/// activations held across calls, such as a VAE's causal caches, in f16.
public enum ActivationPrecision: String, Sendable { case f32, f16 }

/// The backend for a request, and a notice when the automatic choice fell back to the CPU.
public enum BackendChoice {
    /// - Returns: the backend, and a one-line notice to show the user when a fallback happened.
    /// `kept`: how the CPU backend keeps activations held across calls (`CPUBackend.keptActivations`;
    /// nil: as `activations` says). A Vulkan backend keeps them at its activation precision.
    public static func make(_ request: DeviceRequest, activations: ActivationPrecision = .f32,
                            kept: ActivationPrecision? = nil) throws -> (backend: any Backend, notice: String?) {
        let kept = kept ?? activations
        switch request {
        case .cpu:
            return (cpu(kept), nil)
        case let .vulkan(selector):
            let device = try selector.map { try VulkanDevice(selector: DeviceSelector(parsing: $0)) } ?? VulkanDevice()
            return (try VulkanBackend(device: device, activations: activations == .f16 ? .f16 : .f32), nil)
        case .automatic:
            return automatic(activations: activations, kept: kept)
        }
    }

    /// The CPU computes in f32 whatever is asked; f16 there means activations held across calls (a VAE's
    /// causal caches) are kept in f16.
    static func cpu(_ kept: ActivationPrecision) -> CPUBackend {
        CPUBackend(keptActivations: kept == .f16 ? .f16 : .f32)
    }

    /// A discrete, integrated or virtual GPU through Vulkan; otherwise (only a CPU Vulkan such as lavapipe,
    /// or no driver at all) the CPU backend, which is far faster than a CPU Vulkan.
    static func automatic(activations: ActivationPrecision, kept: ActivationPrecision) -> (backend: any Backend, notice: String?) {
        do {
            let device = try VulkanDevice()
            switch device.capabilities.deviceType {
            case .discreteGPU, .integratedGPU, .virtualGPU:
                return (try VulkanBackend(device: device, activations: activations == .f16 ? .f16 : .f32), nil)
            default:
                return (cpu(kept), "no GPU found (only \(device.capabilities.name)); using the CPU backend")
            }
        } catch {
            return (cpu(kept), "no Vulkan device (\(error)); using the CPU backend")
        }
    }
}

/// How a backend meets q8 weights: with int8 activations (W8A8: the automatic mode on CPUs with AVX-512
/// VNNI and on GPUs with an accelerated int8 dot product) or with 16-bit ones (W8A16). W8A8 roughly doubles
/// a q8 error figure, so reports and bounds that judge q8 results need to know which ran.
public enum Q8Arithmetic {
    public static func int8Activations(_ backend: any Backend) -> Bool {
        if let cpu = backend as? CPUBackend { return cpu.q8Mode == .w8a8 }
        if let vulkan = backend as? VulkanBackend { return vulkan.q8Kernel(vulkan.q8Mode) == .integerDotProduct }
        return false
    }
}

public struct RuntimeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
