import Foundation

/// Where tensors live and how bytes get there.
///
/// - `unified`: tensors in host-visible memory the host writes and reads directly. Right where the
///   GPU's memory *is* the host's (UMA: integrated GPUs, Apple, lavapipe): no copies at all.
/// - `staged`: tensors in device-local memory (VRAM on a discrete GPU, read by the shaders at full
///   bandwidth instead of over PCIe); uploads and read-backs go through host-visible staging
///   buffers and copies recorded with the dispatches (`VulkanBackend+Transfers.swift`).
///
/// The default follows the device type; `VACEKIT_VK_MEMORY=unified|staged` overrides it (tests use
/// `staged` on lavapipe to run the discrete-GPU path).
public enum VulkanMemoryStrategy: String, Sendable, CaseIterable {
    case unified, staged

    public static let environmentVariable = "VACEKIT_VK_MEMORY"

    /// Staged on discrete GPUs, unified everywhere else.
    public static func automatic(for capabilities: VulkanCapabilities) -> Self {
        capabilities.deviceType == .discreteGPU ? .staged : .unified
    }

    /// The environment's choice, or the automatic one.
    public static func resolve(for capabilities: VulkanCapabilities,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Self {
        guard let value = environment[environmentVariable], !value.isEmpty else { return automatic(for: capabilities) }
        guard let strategy = Self(rawValue: value.lowercased()) else {
            throw VulkanError.invalidUse("\(environmentVariable)=\(value): expected one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return strategy
    }

    var tensorPlacement: VulkanBuffer.Placement { self == .staged ? .deviceLocal : .hostVisible }
}
