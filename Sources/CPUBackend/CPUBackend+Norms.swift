import Foundation
import Tensors

extension CPUBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("layerNorm") { try layerNormImpl(x, weight: weight, bias: bias, eps: eps) }
    }

    private func layerNormImpl(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try rowNorm("layerNorm", x, weight: weight, bias: bias) { row, n in
            var mean = 0.0, square = 0.0
            for j in 0 ..< n { mean += Double(row[j]) }
            mean /= Double(n)
            for j in 0 ..< n { let d = Double(row[j]) - mean; square += d * d }
            let inverse = 1 / (square / Double(n) + Double(eps)).squareRoot()
            return (Float(mean), Float(inverse))
        }
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("rmsNorm") { try rmsNormImpl(x, weight: weight, eps: eps) }
    }

    private func rmsNormImpl(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        try rowNorm("rmsNorm", x, weight: weight, bias: nil) { row, n in
            var square = 0.0
            for j in 0 ..< n { square += Double(row[j]) * Double(row[j]) }
            return (0, Float(1 / (square / Double(n) + Double(eps)).squareRoot()))
        }
    }

    /// Normalises each row of the last dim as `(x − center) · inverse`, then the optional affine.
    private func rowNorm(_ op: String, _ x: Tensor, weight: Tensor?, bias: Tensor?,
                         _ statistics: @escaping (UnsafePointer<Float>, Int) -> (center: Float, inverse: Float)) throws -> Tensor {
        let n = x.shape.dims.last ?? 1
        let input = try values(x, op)
        let w = try weight.map { try values($0, op) }, b = try bias.map { try values($0, op) }
        if let w, w.count != n { throw TensorError(op, "weight \(weight!.shape) for rows of \(n)") }
        if let b, b.count != n { throw TensorError(op, "bias \(bias!.shape) for rows of \(n)") }
        let (out, buffer) = allocate(x.shape)
        let o = SharedPointer(buffer.pointer)
        parallelRanges(x.count / max(n, 1), minChunk: 8) { rows in
            for r in rows {
                let row = input.baseAddress! + r * n
                let (center, inverse) = statistics(row, n)
                for j in 0 ..< n {
                    var v = (row[j] - center) * inverse
                    if let w { v *= w[j] }
                    if let b { v += b[j] }
                    o[r * n + j] = v
                }
            }
        }
        return out
    }

    public func channelNorm(_ kind: ChannelNorm, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("channelNorm") { try channelNormImpl(kind, x, weight: weight, bias: bias, eps: eps) }
    }

    private func channelNormImpl(_ kind: ChannelNorm, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        guard x.shape.rank >= 2 else { throw TensorError("channelNorm", "x \(x.shape) has no channel dim") }
        let batches = x.shape[0], channels = x.shape[1], spatial = x.count / max(batches * channels, 1)
        let input = try values(x, "channelNorm")
        let w = try weight.map { try values($0, "channelNorm") }, b = try bias.map { try values($0, "channelNorm") }
        if let w, w.count != channels { throw TensorError("channelNorm", "weight of \(w.count) for \(channels) channels") }
        let (out, buffer) = allocate(x.shape)
        let o = SharedPointer(buffer.pointer)
        switch kind {
        case .groupNorm(let groups):
            guard groups > 0, channels % groups == 0 else { throw TensorError("groupNorm", "\(groups) groups for \(channels) channels") }
            let per = channels / groups
            parallelRanges(batches * groups) { items in
                for item in items {
                    let (batch, group) = (item / groups, item % groups)
                    let start = (batch * channels + group * per) * spatial, n = per * spatial
                    var mean = 0.0, square = 0.0
                    for i in 0 ..< n { mean += Double(input[start + i]) }
                    mean /= Double(n)
                    for i in 0 ..< n { let d = Double(input[start + i]) - mean; square += d * d }
                    let inverse = Float(1 / (square / Double(n) + Double(eps)).squareRoot())
                    for i in 0 ..< n {
                        let c = group * per + i / spatial
                        o[start + i] = (input[start + i] - Float(mean)) * inverse * (w?[c] ?? 1) + (b?[c] ?? 0)
                    }
                }
            }
        case .wanRMS, .pixel:
            // Statistics over the channel dim at each position.
            parallelRanges(batches * spatial, minChunk: 64) { items in
                for item in items {
                    let (batch, position) = (item / spatial, item % spatial)
                    let base = batch * channels * spatial + position
                    var square = 0.0
                    for c in 0 ..< channels { let v = Double(input[base + c * spatial]); square += v * v }
                    let inverse: Float = kind == .pixel
                        ? Float(1 / (square / Double(channels) + Double(eps)).squareRoot())
                        : Float(Double(channels).squareRoot() / max(square.squareRoot(), 1e-12))
                    for c in 0 ..< channels {
                        o[base + c * spatial] = input[base + c * spatial] * inverse * (w?[c] ?? 1) + (b?[c] ?? 0)
                    }
                }
            }
        }
        return out
    }
}
