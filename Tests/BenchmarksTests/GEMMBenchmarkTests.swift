import Foundation
import Testing
@testable import Benchmarks

/// The GEMM harness of `vacekit bench gemm` on one small shape: every path runs and its q8 error is small.
@Suite struct GEMMBenchmarkTests {
    @Test func smallShapeRuns() throws {
        let rows = try GEMMBenchmark.run(m: 16, shapes: [.init(model: "tiny", k: 96, n: 40)], repeats: 1)
        #expect(rows.map(\.dtype) == ["f32", "bf16", "q8", "q8a8", "q8", "q8a8"])
        for row in rows {
            #expect(row.seconds > 0 && row.gflops > 0)
            // Per-row/g32 q8 of nn.Linear-like weights and Gaussian x: well under 3e-2 in total.
            if let error = row.relativeL2 { #expect(error < 3e-2, "\(row.dtype) \(row.op): \(error)") }
        }
    }

    @Test func oneListOfShapes() {
        #expect(GEMMBenchmark.ditShapes.map(\.label) == ["wan 1536→1536", "wan 1536→8960", "wan 8960→1536",
                                                         "ltx 2048→2048", "ltx 2048→8192", "ltx 8192→2048"])
        #expect(VulkanBenchmark.linearShapes.map(\.label) == GEMMBenchmark.ditShapes.map(\.label))
    }
}
