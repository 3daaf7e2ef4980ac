import Tensors
import Testing
@testable import CPUBackend

@Suite struct BLASTests {
    /// cblas_sgemm against a naive triple loop, on odd shapes and with a transposed B (x · Wᵀ).
    @Test(arguments: [(1, 1, 1), (7, 13, 5), (33, 65, 129), (128, 96, 300)])
    func sgemmMatchesNaiveLoop(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = SplitMix64(seed: UInt64(m * 1_000_003 + n * 1009 + k))
        let a = (0 ..< m * k).map { _ in rng.nextFloat() }
        let w = (0 ..< n * k).map { _ in rng.nextFloat() }  // [n, k], like nn.Linear.weight
        var c = [Float](repeating: 0, count: m * n)
        BLAS.sgemm(m: m, n: n, k: k, a: a, lda: k, b: w, ldb: k, transposeB: true, c: &c, ldc: n)

        var worst = 0.0
        for i in 0 ..< m {
            for j in 0 ..< n {
                var expected = 0.0
                for p in 0 ..< k { expected += Double(a[i * k + p]) * Double(w[j * k + p]) }
                worst = max(worst, abs(Double(c[i * n + j]) - expected))
            }
        }
        // f32 accumulation over k terms of magnitude ≤ 1: error grows like k·ε.
        #expect(worst <= Double(k) * 2e-7 + 1e-6, "max |Δ| = \(worst) on \(m)×\(n)×\(k)")
    }

    @Test func reportsKernelAndThreads() {
        #expect(!BLAS.coreName.isEmpty)
        #expect(BLAS.threadCount >= 1)
    }
}

extension SplitMix64 {
    /// Uniform in [-1, 1).
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
