import Foundation
import Testing
import VulkanBackend
@testable import Benchmarks

/// The quick Vulkan kernel benchmark, printed as a table. Opt-in (tens of seconds on lavapipe):
/// `VACEKIT_VULKAN_BENCH=1 swift test --filter VulkanBenchmarkTests` (`=full` for the full set).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VACEKIT_VULKAN_BENCH"] != nil, "set VACEKIT_VULKAN_BENCH=1 to run"))
struct VulkanBenchmarkTests {
    @Test func opsTable() throws {
        let device = try VulkanDevice()
        let quick = ProcessInfo.processInfo.environment["VACEKIT_VULKAN_BENCH"] != "full"
        let rows = try VulkanBenchmark.ops(device: device, quick: quick)
        print("device: \(device.capabilities.name)")
        print("| op | shape | dtype | seconds | GFLOP/s |")
        print("|---|---|---|---|---|")
        for row in rows {
            print("| \(row.op) | \(row.shape) | \(row.dtype) | \(String(format: "%.4f", row.seconds)) | \(String(format: "%.2f", row.gflops)) |")
        }
        let variants = VulkanBenchmark.linearVariants(device).count
        #expect(rows.count == (quick ? 3 * variants + 1 : VulkanBenchmark.linearShapes.count * variants + 2))
        #expect(rows.allSatisfy { $0.seconds > 0 && $0.gflops.isFinite })
    }
}
