import Foundation

/// Float64 reference implementations of the op contract, written for clarity, not speed.
/// Arrays are row-major; shapes are passed alongside.
public enum Reference {
    public static func linear(_ x: [Double], m: Int, k: Int, _ w: [Double], n: Int, bias: [Double]?) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var sum = bias?[j] ?? 0
                for p in 0 ..< k { sum += x[i * k + p] * w[j * k + p] }
                out[i * n + j] = sum
            }
        }
        return out
    }

    /// Index of `target` element `flat` in an operand of `shape` under NumPy broadcasting.
    public static func broadcastIndex(_ flat: Int, target: [Int], shape: [Int]) -> Int {
        var rest = flat, index = 0, step = 1
        for d in stride(from: target.count - 1, through: 0, by: -1) {
            let i = rest % target[d]
            rest /= target[d]
            let sd = d - (target.count - shape.count)
            if sd >= 0 {
                if shape[sd] != 1 { index += i * step }
                step *= shape[sd]
            }
        }
        return index
    }

    public static func rowNorm(_ x: [Double], width n: Int, rms: Bool, weight: [Double]?, bias: [Double]?, eps: Double) -> [Double] {
        var out = x
        for r in 0 ..< x.count / n {
            let row = x[r * n ..< (r + 1) * n]
            let mean = rms ? 0 : row.reduce(0, +) / Double(n)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            for j in 0 ..< n {
                out[r * n + j] = (x[r * n + j] - mean) / (variance + eps).squareRoot() * (weight?[j] ?? 1) + (bias?[j] ?? 0)
            }
        }
        return out
    }

    /// With `bias` `[Bb, H, Nq, Nk]` (Bb = 1 or B) added to the scores and `scale` instead of 1/√d.
    public static func attention(q: [Double], k: [Double], v: [Double], batches: Int, nq: Int, nk: Int, width: Int, heads: Int, mask: [Double]?,
                                 bias: [Double]? = nil, scale: Double? = nil) -> [Double] {
        let d = width / heads
        let factor = scale ?? 1 / Double(d).squareRoot()
        let biasBatchStride = bias.map { $0.count == heads * nq * nk ? 0 : heads * nq * nk } ?? 0
        var out = [Double](repeating: 0, count: batches * nq * width)
        for b in 0 ..< batches {
            for h in 0 ..< heads {
                for i in 0 ..< nq {
                    var scores = [Double](repeating: -.infinity, count: nk)
                    for j in 0 ..< nk where mask == nil || mask![b * nk + j] != 0 {
                        var s = 0.0
                        for t in 0 ..< d { s += q[(b * nq + i) * width + h * d + t] * k[(b * nk + j) * width + h * d + t] }
                        scores[j] = s * factor + (bias?[b * biasBatchStride + (h * nq + i) * nk + j] ?? 0)
                    }
                    let top = scores.max() ?? 0
                    let weights = scores.map { $0 == -.infinity ? 0 : exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for t in 0 ..< d {
                        var acc = 0.0
                        for j in 0 ..< nk { acc += weights[j] * v[(b * nk + j) * width + h * d + t] }
                        out[(b * nq + i) * width + h * d + t] = total > 0 ? acc / total : 0
                    }
                }
            }
        }
        return out
    }

    public static func conv3d(_ x: [Double], shape: [Int], _ w: [Double], kernel: [Int], bias: [Double]?,
                              stride s: (Int, Int, Int), padding p: (Int, Int), temporal: (Int, Int), replicate: Bool,
                              dilation dl: (Int, Int, Int)) -> (values: [Double], shape: [Int]) {
        let (b, c, t, h, wd) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        let (o, kt, kh, kw) = (kernel[0], kernel[2], kernel[3], kernel[4])
        let tOut = (t + temporal.0 + temporal.1 - dl.0 * (kt - 1) - 1) / s.0 + 1
        let hOut = (h + 2 * p.0 - dl.1 * (kh - 1) - 1) / s.1 + 1
        let wOut = (wd + 2 * p.1 - dl.2 * (kw - 1) - 1) / s.2 + 1
        var out = [Double](repeating: 0, count: b * o * tOut * hOut * wOut)
        for bi in 0 ..< b { for oc in 0 ..< o { for to in 0 ..< tOut { for yo in 0 ..< hOut { for xo in 0 ..< wOut {
            var sum = bias?[oc] ?? 0
            for ci in 0 ..< c { for dt in 0 ..< kt { for dy in 0 ..< kh { for dx in 0 ..< kw {
                var ti = to * s.0 + dt * dl.0 - temporal.0
                if replicate { ti = min(max(ti, 0), t - 1) }
                let yi = yo * s.1 + dy * dl.1 - p.0, xi = xo * s.2 + dx * dl.2 - p.1
                guard ti >= 0, ti < t, yi >= 0, yi < h, xi >= 0, xi < wd else { continue }
                sum += x[(((bi * c + ci) * t + ti) * h + yi) * wd + xi] * w[(((oc * c + ci) * kt + dt) * kh + dy) * kw + dx]
            } } } }
            out[(((bi * o + oc) * tOut + to) * hOut + yo) * wOut + xo] = sum
        } } } } }
        return (out, [b, o, tOut, hOut, wOut])
    }

    /// Linear / nearest resampling of one axis with PyTorch's align_corners=False convention.
    public static func resize(_ x: [Double], shape: [Int], axis: Int, to target: Int, linear: Bool) -> [Double] {
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *), length = shape[axis]
        var out = [Double](repeating: 0, count: outer * target * inner)
        let ratio = Double(length) / Double(target)
        for o in 0 ..< outer { for i in 0 ..< target { for j in 0 ..< inner {
            let value: Double
            if linear {
                let position = max((Double(i) + 0.5) * ratio - 0.5, 0)
                let lo = min(Int(position), length - 1), hi = min(lo + 1, length - 1), f = position - Double(lo)
                value = x[(o * length + lo) * inner + j] * (1 - f) + x[(o * length + hi) * inner + j] * f
            } else {
                value = x[(o * length + min(Int(Double(i) * ratio), length - 1)) * inner + j]
            }
            out[(o * target + i) * inner + j] = value
        } } }
        return out
    }
}
