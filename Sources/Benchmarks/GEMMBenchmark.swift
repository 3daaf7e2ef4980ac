import CPUBackend
import Foundation
import Tensors

/// GEMM timings at the real DiT shapes: OpenBLAS f32 against the CKernels paths for bf16 and q8
/// weights. `converters/reference/bench_torch_gemm.py` prints PyTorch's rows in the same form, so the two
/// can be put side by side from one session on one machine.
public enum GEMMBenchmark {
    public typealias Shape = LinearShape
    /// One measurement. `shape` is "MxKxN"; gflops counts 2·M·K·N operations (int8 ones for q8a8); `kernel`
    /// names the path; `relativeL2` is ‖y − y_ref‖ / ‖y_ref‖ on the first rows, y_ref in float64 from the
    /// unquantized f32 weights, so it includes the weight quantization.
    public typealias Row = BenchmarkRow

    /// Wan2.1 1.3B and LTX-Video 2B.
    public static let ditShapes = BenchmarkShapes.linear

    /// The paths measured: f32 (OpenBLAS sgemm), bf16 weights, q8 W8A16 and q8 W8A8 at group 0 (per row)
    /// and 32. `op` is "matmul" for f32/bf16, "matmul-row" / "matmul-g32" for q8.
    public static let allPaths = ["f32", "bf16", "q8", "q8a8"]

    /// Runs every shape and path: one warm-up, then the best of `repeats` runs.
    public static func run(
        m: Int = BenchmarkShapes.tokens, shapes: [Shape] = ditShapes, paths: [String] = allPaths, repeats: Int = 3,
        report: (Row) -> Void = { _ in }
    ) throws -> [Row] {
        var rows: [Row] = []
        for shape in shapes {
            let (k, n) = (shape.k, shape.n)
            var rng = BenchmarkRandom(seed: UInt64(k * 31 + n))
            let x = (0 ..< m * k).map { _ in rng.gaussian() }
            // nn.Linear-like init: uniform(±1/√k).
            let limit = 1 / Float(k).squareRoot()
            let w = (0 ..< n * k).map { _ in (rng.uniform() * 2 - 1) * limit }
            var y = [Float](repeating: 0, count: m * n)
            let checkRows = min(m, 4)
            let exact = referenceRows(x, w, k: k, n: n, rows: checkRows)
            let shapeName = "\(m)x\(k)x\(n)"
            let operations = 2 * Double(m) * Double(k) * Double(n)

            func record(_ op: String, _ dtype: String, _ kernel: String, checked: Bool, _ body: () -> Void) {
                let best = Timing.best(runs: max(1, repeats), warmUp: body) { Timing.seconds(body) }
                let error = checked ? (try? ErrorMetric.compare(Array(y[0 ..< checkRows * n]), exact, what: "GEMM \(op) \(dtype)"))?.relativeL2 ?? .infinity : nil
                let row = Row(op: op, shape: shapeName, dtype: dtype, seconds: best, gflops: operations / best / 1e9,
                              kernel: kernel, relativeL2: error)
                rows.append(row)
                report(row)
            }

            if paths.contains("f32") {
                record("matmul", "f32", "openblas \(BLAS.coreName) ×\(BLAS.threadCount)", checked: true) {
                    BLAS.sgemm(m: m, n: n, k: k, a: x, lda: k, b: w, ldb: k, transposeB: true, c: &y, ldc: n)
                }
            }
            if paths.contains("bf16") {
                let bits = w.map(bf16Bits)
                try bits.withUnsafeBytes { raw in
                    let matmul = try QuantizedMatmul(.bf16(raw), rows: n, columns: k)
                    record("matmul", "bf16", matmul.kernelDescription(mode: .w8a16), checked: true) {
                        matmul.apply(x: x, m: m, bias: nil, out: &y, mode: .w8a16)
                    }
                }
            }
            for group in [0, 32] where paths.contains("q8") || paths.contains("q8a8") {
                let (values, scales) = quantize(w, rows: n, columns: k, group: group)
                try values.withUnsafeBytes { v in
                    try scales.withUnsafeBytes { s in
                        let matmul = try QuantizedMatmul(.q8(values: v, scales: s, group: group), rows: n, columns: k)
                        let op = group == 0 ? "matmul-row" : "matmul-g\(group)"
                        for (dtype, mode) in [("q8", QuantizedMatmul.Mode.w8a16), ("q8a8", .w8a8)] where paths.contains(dtype) {
                            record(op, dtype, matmul.kernelDescription(mode: mode), checked: true) {
                                matmul.apply(x: x, m: m, bias: nil, out: &y, mode: mode)
                            }
                        }
                    }
                }
            }
        }
        return rows
    }

    /// The rows as a JSON array, one row per line.
    public static func json(_ rows: [Row]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = rows.compactMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) }
        return "[\n" + lines.joined(separator: ",\n") + "\n]"
    }

    // MARK: - Data

    /// The .vkq q8 scheme (VKQ.Quantization.quantizeQ8): f16 scale = max|w| / 127 per group, q = round(w / scale).
    static func quantize(_ w: [Float], rows: Int, columns: Int, group: Int) -> (values: [Int8], scales: [UInt16]) {
        let g = group == 0 ? columns : group
        var values = [Int8](repeating: 0, count: w.count)
        var scales = [UInt16](repeating: 0, count: w.count / g)
        for index in 0 ..< w.count / g {
            let chunk = w[index * g ..< (index + 1) * g]
            let scale = Float16(chunk.reduce(0) { max($0, abs($1)) } / 127)
            scales[index] = scale.bitPattern
            let inverse = Float(scale) > 0 ? 1 / Float(scale) : 0
            for i in chunk.indices { values[i] = Int8(max(-127, min(127, (w[i] * inverse).rounded(.toNearestOrEven)))) }
        }
        return (values, scales)
    }

    static func referenceRows(_ x: [Float], _ w: [Float], k: Int, n: Int, rows: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * n)
        for i in 0 ..< rows {
            for j in 0 ..< n {
                var sum = 0.0
                for p in 0 ..< k { sum += Double(x[i * k + p]) * Double(w[j * k + p]) }
                y[i * n + j] = sum
            }
        }
        return y
    }

    static func bf16Bits(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}

/// SplitMix64 with uniform and Gaussian draws (deterministic benchmark data).
private struct BenchmarkRandom {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    /// Uniform in [0, 1).
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Float {
        let u = max(uniform(), 1e-7), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
