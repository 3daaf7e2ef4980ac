import Foundation
import Tensors

/// `vacekit bench elementwise`: attention and the elementwise / norm ops at the Wan2.1-1.3B shapes (1170
/// tokens, 12 heads × 128, 512 text tokens, FFN 8960) and LTX's masked 32 × 64 cross-attention (about a
/// minute on the CPU); `long` adds 4680-token self-attention. Best of 3 runs after a warm-up, in ms.
public enum ElementwiseBenchmark {
    public static func run(on b: any Backend, long: Bool = false, report: (String, Double) -> Void = { _, _ in }) throws -> [(op: String, milliseconds: Double)] {
        var rows: [(op: String, milliseconds: Double)] = []
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func values(_ n: Int, scale: Float = 1) -> [Float] {
            (0 ..< n).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        func time(_ label: String, _ body: () throws -> Tensor) throws {
            let best = try Timing.best(runs: 3, warmUp: { _ = try body() }) { try Timing.seconds { _ = try body() } } * 1e3
            rows.append((label, best))
            report(label, best)
        }
        let (n, c, text) = (BenchmarkShapes.tokens, 1536, 512)
        // q and k rows RMS-normalised as in Wan (scores of a few units), v of unit scale.
        let q = try b.tensor(values(n * c, scale: 1.7), [1, n, c]), k = try b.tensor(values(n * c, scale: 1.7), [1, n, c])
        let v = try b.tensor(values(n * c), [1, n, c])
        let tk = try b.tensor(values(text * c, scale: 1.7), [1, text, c]), tv = try b.tensor(values(text * c), [1, text, c])
        try time("attention self 1170×1170 12h×128") { try b.attention(q: q, k: k, v: v, heads: 12, keyMask: nil) }
        try time("attention cross 1170×512 12h×128") { try b.attention(q: q, k: tk, v: tv, heads: 12, keyMask: nil) }
        let mask = try b.tensor((0 ..< 128).map { $0 < 77 ? 1 : 0 }, [1, 128])
        let lk = try b.tensor(values(128 * 2048, scale: 1.7), [1, 128, 2048]), lv = try b.tensor(values(128 * 2048), [1, 128, 2048])
        let lq = try b.tensor(values(n * 2048, scale: 1.7), [1, n, 2048])
        try time("attention ltx cross 1170×128 32h×64 mask") { try b.attention(q: lq, k: lk, v: lv, heads: 32, keyMask: mask) }
        if long {
            let q4 = try b.tensor(values(4 * n * c, scale: 1.7), [1, 4 * n, c]), v4 = try b.tensor(values(4 * n * c), [1, 4 * n, c])
            try time("attention self 4680×4680 12h×128") { try b.attention(q: q4, k: q4, v: v4, heads: 12, keyMask: nil) }
        }

        let hidden = try b.tensor(values(n * 8960, scale: 4), [1, n, 8960])
        try time("unary geluTanh [1,1170,8960]") { try b.unary(.geluTanh, hidden) }
        try time("unary silu [1,1170,8960]") { try b.unary(.silu, hidden) }
        let x = try b.tensor(values(n * c, scale: 3), [1, n, c]), y = try b.tensor(values(n * c), [1, n, c])
        let row = try b.tensor(values(c), [1, 1, c]), row2 = try b.tensor(values(c), [1, 1, c])
        let w = try b.tensor(values(c), [c]), bias = try b.tensor(values(c), [c])
        try time("layerNorm [1,1170,1536] no affine") { try b.layerNorm(x, weight: nil, bias: nil, eps: 1e-6) }
        try time("layerNorm [1,1170,1536] affine") { try b.layerNorm(x, weight: w, bias: bias, eps: 1e-6) }
        try time("rmsNorm [1,1170,1536] weight") { try b.rmsNorm(x, weight: w, eps: 1e-6) }
        try time("modulate [1,1170,1536] by [1,1,1536]") { try b.modulate(x, scale: row, shift: row2) }
        try time("gatedResidual [1,1170,1536] gate [1,1,1536]") { try b.gatedResidual(x, y, gate: row) }
        try time("binary add [1,1170,1536]") { try b.binary(.add, x, y) }
        let (cos, sin) = (try b.tensor(values(n * 64), [n, 64]), try b.tensor(values(n * 64), [n, 64]))
        try time("rotary [1,1170,1536] table [1170,64]") { try b.rotary(x, cos: cos, sin: sin) }
        return rows
    }
}
