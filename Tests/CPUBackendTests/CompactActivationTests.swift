import Foundation
import Testing
import Tensors
@testable import CPUBackend

/// `compact`: identity on a backend that keeps f32, f16 halves (read back exactly) on one that keeps f16,
/// and such tensors concatenate with f32 ones as their f16 values.
@Suite struct CompactActivationTests {
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0 ..< n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1e4  // ±100, many bits
        }
    }

    @Test func f32BackendKeepsTheTensorItself() throws {
        let backend = CPUBackend()
        let x = try backend.tensor(Self.values(100, seed: 1), [1, 4, 25])
        let kept = try backend.compact(x)
        #expect(kept.storage === x.storage)
        #expect(kept.dtype == .f32)
    }

    @Test func f16BackendRoundsToHalvesAndConcatenatesThem() throws {
        let backend = CPUBackend(keptActivations: .f16)
        // 2 · 3 · 70_000 values: more than one worker's range, rows of the concat split across ranges.
        let (a, b) = (Self.values(2 * 3 * 70_000, seed: 2), Self.values(2 * 1 * 70_000, seed: 3))
        let x = try backend.tensor(a, [2, 3, 70_000]), y = try backend.tensor(b, [2, 1, 70_000])
        let kept = try backend.compact(x)
        #expect(kept.dtype == .f16)
        let rounded = a.map { Float(Float16($0)) }
        #expect(try backend.floats(kept) == rounded)
        #expect(rounded != a, "the values were not rounded")
        let joined = try backend.floats(try backend.concat([y, kept, y], axis: 1))  // [2, 5, 70_000]
        var expected: [Float] = []
        for batch in 0 ..< 2 {
            let row = b[(batch * 70_000) ..< ((batch + 1) * 70_000)]
            expected += row + rounded[(batch * 210_000) ..< ((batch + 1) * 210_000)] + row
        }
        #expect(joined == expected)
        // Any other op names what it was given.
        #expect(throws: TensorError.self) { try backend.unary(.silu, kept) }
    }

    @Test func overflowBecomesInfinityNotGarbage() throws {
        let backend = CPUBackend(keptActivations: .f16)
        let kept = try backend.compact(try backend.tensor([70_000, -70_000, 65_504, .nan], [4]))
        let back = try backend.floats(kept)
        #expect(back[0] == .infinity && back[1] == -.infinity && back[2] == 65_504 && back[3].isNaN)
    }
}
