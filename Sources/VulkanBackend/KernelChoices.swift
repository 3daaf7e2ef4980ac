import Foundation

/// What the backend will run on a device, derived from its capabilities and the environment, for
/// `vacekit devices`: where tensors live, how q8 weights are multiplied, whether the matrix cores
/// and subgroup reductions are used.
public enum KernelChoices {
    public static func describe(_ physical: VulkanPhysicalDevice,
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let caps = physical.capabilities
        let memory = (try? VulkanMemoryStrategy.resolve(for: caps, environment: environment)).map(\.rawValue) ?? "invalid \(VulkanMemoryStrategy.environmentVariable)"
        let mode = VulkanBackend.Q8Mode(rawValue: environment[VulkanBackend.Q8Mode.environmentVariable] ?? "") ?? .automatic
        let w8a8 = VulkanBackend.q8Kernel(mode, integerDotProduct: caps.integerDotProduct, accelerated: caps.integerDotProductAccelerated)
            == .integerDotProduct
        let matrixCores = CooperativeMatrixSupport.usable(physical)
        let subgroups = VulkanBackend.hasSubgroupReductions(caps)
        return "  runtime: \(memory) memory, q8 linear \(w8a8 ? "W8A8 (integer dot product)" : "W8A16"), "
            + "matrix cores \(matrixCores ? "yes (f16 activations)" : "no"), norm reductions \(subgroups ? "subgroup" : "shared memory")"
    }
}
