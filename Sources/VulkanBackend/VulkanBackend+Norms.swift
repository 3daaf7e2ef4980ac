import Tensors

extension VulkanBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try rowNorm("layerNorm", x, weight: weight, bias: bias, eps: eps, centered: true)
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        try rowNorm("rmsNorm", x, weight: weight, bias: nil, eps: eps, centered: false)
    }

    private func rowNorm(_ op: String, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float, centered: Bool) throws -> Tensor {
        let width = x.shape.dims.last ?? 1
        if let weight, weight.count != width { throw TensorError(op, "weight \(weight.shape) for rows of \(width)") }
        if let bias, bias.count != width { throw TensorError(op, "bias \(bias.shape) for rows of \(width)") }
        return try segmentNorm(op, x, segments: x.count / max(width, 1), width: width, groups: 1, perGroup: width, spatial: 1,
                               weight: weight, bias: bias, eps: eps, centered: centered)
    }

    public func channelNorm(_ kind: ChannelNorm, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        guard x.shape.rank >= 2 else { throw TensorError("channelNorm", "x \(x.shape) has no channel dim") }
        let batches = x.shape[0], channels = x.shape[1], spatial = x.count / max(batches * channels, 1)
        if let weight, weight.count != channels { throw TensorError("channelNorm", "weight of \(weight.count) for \(channels) channels") }
        if let bias, bias.count != channels { throw TensorError("channelNorm", "bias of \(bias.count) for \(channels) channels") }
        switch kind {
        case .groupNorm(let groups):
            guard groups > 0, channels % groups == 0 else { throw TensorError("groupNorm", "\(groups) groups for \(channels) channels") }
            let per = channels / groups
            return try segmentNorm("groupNorm", x, segments: batches * groups, width: per * spatial, groups: groups, perGroup: per,
                                   spatial: spatial, weight: weight, bias: bias, eps: eps, centered: true)
        case .wanRMS, .pixel:
            return try channelRMS(kind == .wanRMS ? "wanRMS" : "pixelNorm", x, batches: batches, channels: channels, spatial: spatial,
                                  weight: weight, bias: bias, eps: eps, wan: kind == .wanRMS)
        }
    }

    /// Affine operands (weight, bias) bound whole, and their flag bits.
    private func affineBindings(_ op: String, weight: Tensor?, bias: Tensor?, fallback: BufferBinding) throws -> (BufferBinding, UInt32, BufferBinding, UInt32, UInt32) {
        var flags: UInt32 = 0
        var (weightBinding, weightBase, biasBinding, biasBase) = (fallback, UInt32(0), fallback, UInt32(0))
        if let weight {
            let stored = try operand(weight, op)
            (weightBinding, weightBase) = try bindWhole(stored, count: weight.count, op)
            flags |= 8 | (stored.isHalf ? 2 : 0)
        }
        if let bias {
            let stored = try operand(bias, op)
            (biasBinding, biasBase) = try bindWhole(stored, count: bias.count, op)
            flags |= 16 | (stored.isHalf ? 4 : 0)
        }
        return (weightBinding, weightBase, biasBinding, biasBase, flags)
    }

    /// norms.glsl MODE 0: one workgroup per contiguous segment (a row, or a channel group of one
    /// batch item); segments are split into chunks that fit the binding limit.
    private func segmentNorm(_ op: String, _ x: Tensor, segments: Int, width: Int, groups: Int, perGroup: Int, spatial: Int,
                             weight: Tensor?, bias: Tensor?, eps: Float, centered: Bool) throws -> Tensor {
        try lock.withLock {
            let input = try operand(x, op)
            let (out, output) = try makeActivation(x.shape)
            guard x.count > 0 else { return out }
            let chunks = try BindingWindows.rowChunks(rows: segments, perRow: [(width, input.elementSize), (width, output.elementSize)],
                                                      limitBytes: maxBindingBytes, slack: windowSlack, op: op)
            let threads = width >= 1024 ? 256 : 64
            for rows in chunks {
                let (xBinding, xBase) = bind(input, rows.lowerBound * width ..< rows.upperBound * width)
                let (outBinding, outBase) = bind(output, rows.lowerBound * width ..< rows.upperBound * width)
                let (wBinding, wBase, bBinding, bBase, affineFlags) = try affineBindings(op, weight: weight, bias: bias, fallback: xBinding)
                let flags = affineFlags | (input.isHalf ? 1 : 0) | (centered ? 0 : 32)
                let push: [UInt32] = [UInt32(rows.count), UInt32(width), UInt32(groups), UInt32(perGroup), UInt32(spatial),
                                      UInt32(rows.lowerBound), xBase, outBase, wBase, bBase, flags, eps.bitPattern]
                try record(.norms, specialization: [0: UInt32(threads), 1: 0], [xBinding, wBinding, bBinding, outBinding], push: push,
                           groups: try self.groups(ofItems: rows.count), label: op)
            }
            return out
        }
    }

    /// norms.glsl MODE 1: statistics over the channels at each position, one dispatch per batch item.
    private func channelRMS(_ op: String, _ x: Tensor, batches: Int, channels: Int, spatial: Int, weight: Tensor?, bias: Tensor?,
                            eps: Float, wan: Bool) throws -> Tensor {
        try lock.withLock {
            let input = try operand(x, op)
            let (out, output) = try makeActivation(x.shape)
            guard x.count > 0 else { return out }
            let item = channels * spatial
            _ = try BindingWindows.rowChunks(rows: 1, perRow: [(item, input.elementSize), (item, output.elementSize)],
                                             limitBytes: maxBindingBytes, slack: windowSlack, op: op)
            for batch in 0 ..< batches {
                let (xBinding, xBase) = bind(input, batch * item ..< (batch + 1) * item)
                let (outBinding, outBase) = bind(output, batch * item ..< (batch + 1) * item)
                let (wBinding, wBase, bBinding, bBase, affineFlags) = try affineBindings(op, weight: weight, bias: bias, fallback: xBinding)
                let flags = affineFlags | (input.isHalf ? 1 : 0) | (wan ? 64 : 0)
                let push: [UInt32] = [UInt32(spatial), UInt32(channels), 1, 1, UInt32(spatial), 0, xBase, outBase, wBase, bBase, flags, eps.bitPattern]
                try record(.norms, specialization: [0: 64, 1: 1], [xBinding, wBinding, bBinding, outBinding], push: push,
                           groups: try groups1D(spatial, groupSize: 64), label: op)
            }
            return out
        }
    }
}
