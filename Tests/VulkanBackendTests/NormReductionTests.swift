import BackendConformance
import Testing
@testable import VulkanBackend

/// The norm kernels reduce with subgroup arithmetic where the device has it (lavapipe does), and the
/// op table runs that variant; here the op table's norm rows run again with the shared-memory
/// reductions forced, so both variants are checked on one device.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct NormReductionTests {
    static var backends: [VulkanBackend] { [TestBackends.f32, TestBackends.f16].compactMap { $0 } }

    @Test(arguments: OpTable.norms)
    func sharedMemoryReductionsMatchFloat64(_ op: OpCase) throws {
        for backend in Self.backends {
            let result = try VulkanBackend.$sharedMemoryReductionsOnly.withValue(true) {
                #expect(backend.reducingNormsKernel == .norms)
                return try op.evaluate(on: backend, seed: TestBackends.seed)
            }
            let bound = backend.activations == .f16 ? 2e-3 : 1e-5
            #expect(result.relativeL2 <= bound,
                    "\(op.name), \(backend.activations): relative L2 \(result.relativeL2), max |Δ| \(result.maxAbs) (seed \(TestBackends.seed))")
        }
    }

    /// The op table's own run uses the subgroup kernel wherever the device offers subgroup arithmetic.
    @Test func subgroupReductionsWhereTheDeviceHasThem() throws {
        let backend = try #require(TestBackends.f32)
        let caps = backend.device.capabilities
        let hasThem = caps.subgroupsInCompute && caps.subgroupOperations.isSuperset(of: [.basic, .arithmetic])
        #expect(backend.reducingNormsKernel == (hasThem ? .normsSubgroup : .norms))
        if caps.driverName.lowercased().contains("llvmpipe") || caps.name.hasPrefix("llvmpipe") {
            #expect(hasThem, "lavapipe has subgroup arithmetic in compute shaders")
        }
    }
}
