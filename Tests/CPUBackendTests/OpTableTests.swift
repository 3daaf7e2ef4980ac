import BackendConformance
import Foundation
import Tensors
import Testing
@testable import CPUBackend

/// Every op of the contract on the CPU backend against the float64 reference. Fresh random inputs each
/// run; the seed is printed with any failure (set VACEKIT_TEST_SEED to replay one).
@Suite struct OpTableTests {
    static let backend = CPUBackend()
    static let reference = CPUBackend(linearPath: .reference)
    static let seed: UInt64 = ProcessInfo.processInfo.environment["VACEKIT_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1 ... 1 << 40)

    /// f32 math: layout is exact, math within f32 rounding. q8/bf16 matmuls compare against the stored
    /// (dequantized) weight, so only the kernel's activation rounding shows: int16 per row on AVX2
    /// (~1.5e-5), bf16 on AVX-512 (~1.5e-3), int8 in W8A8 (~4e-3); the reference path is f32-exact.
    static func bound(_ kind: OpCase.Kind, reference: Bool) -> Double {
        switch kind {
        case .layout: 0
        case .math: 1e-5
        case .quantizedMatmul: reference ? 1e-5 : (backend.q8Mode == .w8a8 ? 8e-3 : 3e-3)
        }
    }

    @Test(arguments: OpTable.cases)
    func matchesFloat64Reference(_ op: OpCase) throws {
        let result = try op.evaluate(on: Self.backend, seed: Self.seed)
        #expect(result.relativeL2 <= Self.bound(op.kind, reference: false), "\(op.name): relative L2 \(result.relativeL2), max |Δ| \(result.maxAbs) (seed \(Self.seed))")
    }

    /// The reference linear path (panels dequantized to f32 for OpenBLAS) on the matmul rows.
    @Test(arguments: OpTable.cases.filter { $0.name.hasPrefix("linear") })
    func referenceLinearPathIsExact(_ op: OpCase) throws {
        let result = try op.evaluate(on: Self.reference, seed: Self.seed)
        #expect(result.relativeL2 <= 1e-5, "\(op.name) (reference path): relative L2 \(result.relativeL2) (seed \(Self.seed))")
    }

    /// W8A8 as well (opt-in mode): int8 activations per row.
    @Test(arguments: OpTable.cases.filter { $0.kind == .quantizedMatmul })
    func w8a8StaysWithinItsBound(_ op: OpCase) throws {
        let result = try op.evaluate(on: CPUBackend(q8Mode: .w8a8), seed: Self.seed)
        #expect(result.relativeL2 <= 8e-3, "\(op.name) (w8a8): relative L2 \(result.relativeL2) (seed \(Self.seed))")
    }
}

/// Every wrong-shaped call of the shape table is refused with the error of the op's rule (`OpShapes`),
/// naming the op and the operand.
@Suite struct OpShapeTableTests {
    @Test(arguments: OpShapeTable.cases)
    func refusesWithTheRule(_ call: OpShapeCase) throws {
        let error = try #require(call.error(on: OpTableTests.backend) as? TensorError, "\(call.name): accepted or not a TensorError")
        #expect(error.op == call.op && error.operand == call.operand, "\(call.name): \(error)")
        #expect(error.expected != nil && error.actual != nil)
    }
}
