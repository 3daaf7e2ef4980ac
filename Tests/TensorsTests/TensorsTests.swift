import Foundation
import Testing
@testable import Tensors

@Suite struct TensorsTests {
    @Test func broadcastingFollowsNumPy() throws {
        #expect(try Broadcast.shape([2, 1, 5], [3, 1], op: "t") == [2, 3, 5])
        #expect(try Broadcast.shape([4], [2, 1, 4], op: "t") == [2, 1, 4])
        #expect(throws: TensorError.self) { try Broadcast.shape([2, 3], [4, 3], op: "t") }
        #expect(Broadcast.strides(of: [3, 1], in: [2, 3, 5]) == [0, 1, 0])
    }

    @Test func sinusoidPutsCosineFirst() {
        let e = Sinusoid.embedding(700, dim: 8)
        // ω_k = 10000^(−k/4): k = 0 → ω = 1.
        #expect(abs(e[0] - Float(cos(700.0))) < 1e-6)
        #expect(abs(e[4] - Float(sin(700.0))) < 1e-6)
        #expect(abs(e[1] - Float(cos(700.0 * pow(10000, -0.25)))) < 1e-6)
        let shifted = Sinusoid.embedding(3, dim: 8, downscaleShift: 1)  // ω_k = 10000^(−k/3)
        #expect(abs(shifted[3] - Float(cos(3.0 * pow(10000, -1.0)))) < 1e-6)
    }

    @Test func noiseIsSeededAndStandardNormal() {
        var a = NormalNoise(seed: 1), b = NormalNoise(seed: 1), c = NormalNoise(seed: 2)
        let x = a.values(100_001)
        #expect(x == b.values(100_001))
        #expect(x != c.values(100_001))
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.02, "mean \(mean), variance \(variance)")
    }

    @Test func shapeArithmetic() {
        let s: Shape = [2, 3, 4]
        #expect(s.count == 24 && s.strides == [12, 4, 1] && s[-1] == 4)
        #expect(DType.q8(group: 32).description == "q8/g32" && DType.bf16.elementSize == 2)
    }
}
