import CPUBackend
import Tensors
import Testing
@testable import VulkanBackend

/// Weights where activations are expected (norm scales, biases, modulation tables) in every stored
/// type, and `floats` of stored weights.
@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct WeightOperandTests {
    static let storedTypes: [DType] = [.f32, .f16, .bf16]

    @Test(arguments: storedTypes)
    func normScalesBiasesAndTablesInEveryStoredType(_ dtype: DType) throws {
        let x = pseudoRandomFloats(count: 4 * 48, seed: 21, range: 2)
        let gamma = WeightBytes(pseudoRandomFloats(count: 48, seed: 22, range: 1), [48], as: dtype)
        let beta = WeightBytes(pseudoRandomFloats(count: 48, seed: 23, range: 1), [48], as: dtype)
        let table = WeightBytes(pseudoRandomFloats(count: 2 * 48, seed: 24, range: 1), [1, 2, 48], as: dtype)
        func run(_ b: any Backend) throws -> [Float] {
            let t = try b.tensor(x, [2, 2, 48])
            let normed = try b.layerNorm(t, weight: try b.weight(gamma.weightData), bias: try b.weight(beta.weightData), eps: 1e-6)
            let shifted = try b.binary(.add, normed, try b.weight(table.weightData))
            return try b.floats(try b.rmsNorm(shifted, weight: try b.weight(gamma.weightData), eps: 1e-6))
        }
        let reference = try run(CPUBackend())
        for backend in [TestBackends.f32, TestBackends.f16].compactMap({ $0 }) {
            let bound = backend.activations == .f16 ? 2e-3 : 1e-5
            let error = try ErrorMetric.compare(try run(backend), reference).relativeL2
            #expect(error <= bound, "\(dtype) weights, \(backend.activations) activations: relative L2 \(error)")
        }
    }

    @Test(arguments: [DType.f32, .f16, .bf16, .q8(group: 0), .q8(group: 16)])
    func floatsOfStoredWeightsAreTheirValues(_ dtype: DType) throws {
        let backend = try #require(TestBackends.f32)
        let w = WeightBytes(pseudoRandomFloats(count: 6 * 32, seed: 25, range: 1), [6, 32], as: dtype)
        #expect(try backend.floats(try backend.weight(w.weightData)) == w.values)
    }

    @Test func q8ScalesOfTheWrongSizeAreRejected() throws {
        let backend = try #require(TestBackends.f32)
        let w = WeightBytes(pseudoRandomFloats(count: 4 * 32, seed: 26, range: 1), [4, 32], as: .q8(group: 16))
        let wrong = WeightData(name: "w", shape: [4, 32], dtype: .q8(group: 0), data: w.data, scales: w.scales, owner: w)
        #expect(throws: TensorError.self) { try backend.weight(wrong) }
    }
}
