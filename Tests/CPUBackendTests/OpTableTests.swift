import BackendConformance
import Foundation
import Testing
@testable import CPUBackend

/// Every op of the contract on the CPU backend against the float64 reference. Fresh random inputs each
/// run; the seed is printed with any failure (set VACEKIT_TEST_SEED to replay one).
@Suite struct OpTableTests {
    static let backend = CPUBackend()
    static let seed: UInt64 = ProcessInfo.processInfo.environment["VACEKIT_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1 ... 1 << 40)

    /// f32 math throughout: layout is exact, math within f32 rounding. q8 linear compares against the
    /// dequantized weight, so it is f32-exact too on the reference path (W8A8 would need ~1e-2).
    static func bound(_ kind: OpCase.Kind) -> Double {
        switch kind {
        case .layout: 0
        case .math, .quantizedMatmul: 1e-5
        }
    }

    @Test(arguments: OpTable.cases)
    func matchesFloat64Reference(_ op: OpCase) throws {
        let result = try op.evaluate(on: Self.backend, seed: Self.seed)
        #expect(result.relativeL2 <= Self.bound(op.kind), "\(op.name): relative L2 \(result.relativeL2), max |Δ| \(result.maxAbs) (seed \(Self.seed))")
    }
}
