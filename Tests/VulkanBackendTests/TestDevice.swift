import Foundation
import Testing
@testable import VulkanBackend

/// One device for the whole test run (what VACEKIT_DEVICE or the automatic choice picks; lavapipe on CI).
enum TestDevice {
    static let result = Result<VulkanDevice, VulkanError> { () throws(VulkanError) in try VulkanDevice() }

    static var device: VulkanDevice? { try? result.get() }

    /// `VACEKIT_REQUIRE_VULKAN=1` (CI: .ci/run): a missing driver or device fails the run instead of skipping.
    static var required: Bool { ProcessInfo.processInfo.environment["VACEKIT_REQUIRE_VULKAN"] == "1" }

    /// False only when the machine has no Vulkan driver or no device (and none is required): then device
    /// tests are skipped. Any other failure to open the device leaves this true, so the tests run and fail loudly.
    static var available: Bool {
        if required { return true }
        switch result {
        case .failure(.noDriver), .failure(.noDevice): return false
        default: return true
        }
    }

    static let skipReason: Comment = "no Vulkan driver or device on this machine"

    /// A real GPU (discrete or integrated), not a CPU implementation such as lavapipe.
    static var isGPU: Bool {
        guard let type = device?.capabilities.deviceType else { return false }
        return type == .discreteGPU || type == .integratedGPU
    }
}

@Suite struct RequiredVulkanTests {
    @Test(.enabled(if: TestDevice.required, "VACEKIT_REQUIRE_VULKAN is not set"))
    func aRequiredDeviceIsPresent() throws {
        if case .failure(let error) = TestDevice.result { Issue.record("VACEKIT_REQUIRE_VULKAN=1 but no Vulkan device: \(error)") }
    }
}

/// Deterministic values in [-range, range] (a 64-bit LCG), so failures reproduce.
func pseudoRandomFloats(count: Int, seed: UInt64, range: Float = 100) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let unit = Float(state >> 40) / Float(1 << 24)  // [0, 1)
        return (unit * 2 - 1) * range
    }
}
