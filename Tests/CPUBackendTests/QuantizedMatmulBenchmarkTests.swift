import Foundation
import Testing
import CPUBackend

/// Runs GEMMBenchmark when asked (it takes minutes): build in release and run
/// `VACEKIT_GEMM_BENCH=1 swift test -c release --filter QuantizedMatmulBenchmark`. Optional:
/// VACEKIT_GEMM_BENCH_SHAPES=0,3 (indices into ditShapes), VACEKIT_GEMM_BENCH_PATHS=q8a8,f32,
/// VACEKIT_GEMM_BENCH_OUT=file.json. Otherwise one small shape checks that the benchmark runs.
@Suite struct QuantizedMatmulBenchmarkTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test(.enabled(if: environment["VACEKIT_GEMM_BENCH"] != nil))
    func ditShapes() throws {
        let shapes = Self.environment["VACEKIT_GEMM_BENCH_SHAPES"].map {
            $0.split(separator: ",").compactMap { Int($0) }.map { GEMMBenchmark.ditShapes[$0] }
        } ?? GEMMBenchmark.ditShapes
        let paths = Self.environment["VACEKIT_GEMM_BENCH_PATHS"].map { $0.split(separator: ",").map(String.init) }
            ?? GEMMBenchmark.allPaths
        let rows = try GEMMBenchmark.run(shapes: shapes, paths: paths) { row in
            let error = row.relativeL2.map { String(format: "relL2 %.2e", $0) } ?? ""
            print("\(row.op) \(row.shape) \(row.dtype): \(String(format: "%.4f s %7.1f GFLOP/s", row.seconds, row.gflops)) [\(row.kernel)] \(error)")
        }
        let json = GEMMBenchmark.json(rows)
        if let path = Self.environment["VACEKIT_GEMM_BENCH_OUT"] {
            try json.write(toFile: path, atomically: true, encoding: .utf8)
        } else {
            print(json)
        }
    }

    @Test func smallShapeRuns() throws {
        let rows = try GEMMBenchmark.run(m: 16, shapes: [.init(model: "tiny", k: 96, n: 40)], repeats: 1)
        #expect(rows.map(\.dtype) == ["f32", "bf16", "q8", "q8a8", "q8", "q8a8"])
        for row in rows {
            #expect(row.seconds > 0 && row.gflops > 0)
            // Per-row/g32 q8 of nn.Linear-like weights and Gaussian x: well under 3e-2 in total.
            if let error = row.relativeL2 { #expect(error < 3e-2, "\(row.dtype) \(row.op): \(error)") }
        }
    }
}
