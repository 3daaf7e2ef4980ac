import CKernels
import Foundation
import Tensors

extension CPUBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("layerNorm") { try layerNormImpl(x, weight: weight, bias: bias, eps: eps) }
    }

    private func layerNormImpl(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        let level = Self.vectorLevel
        return try rowNorm("layerNorm", x, weight: weight, bias: bias) { x, y, rows, n, w, b in
            vk_layer_norm_rows_f32(x, y, rows, n, w, b, eps, level)
        }
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        try profiler.measure("rmsNorm") { try rmsNormImpl(x, weight: weight, eps: eps) }
    }

    private func rmsNormImpl(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        let level = Self.vectorLevel
        return try rowNorm("rmsNorm", x, weight: weight, bias: nil) { x, y, rows, n, w, _ in
            vk_rms_norm_rows_f32(x, y, rows, n, w, eps, level)
        }
    }

    /// Runs a C row-norm kernel (CKernels norms.c: f32 blocked statistics) over ranges of rows of the
    /// last dim on all cores, after checking the affine parameters' sizes.
    private func rowNorm(_ op: String, _ x: Tensor, weight: Tensor?, bias: Tensor?,
                         _ kernel: @escaping (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int,
                                              UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void) throws -> Tensor {
        let n = x.shape.dims.last ?? 1
        let input = try values(x, op).baseAddress!
        let w = try weight.map { try values($0, op) }, b = try bias.map { try values($0, op) }
        if let w, w.count != n { throw TensorError(op, "weight \(weight!.shape) for rows of \(n)") }
        if let b, b.count != n { throw TensorError(op, "bias \(bias!.shape) for rows of \(n)") }
        let (out, buffer) = allocate(x.shape)
        let o = buffer.pointer
        guard n > 0 else { return out }
        let (wp, bp) = (w?.baseAddress, b?.baseAddress)
        parallelRanges(x.count / n, minChunk: max(1, 16384 / n)) { rows in
            kernel(input + rows.lowerBound * n, o + rows.lowerBound * n, rows.count, n, wp, bp)
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
