import Tensors

extension VulkanBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try rowNorm("layerNorm", x, weight: weight, bias: bias, eps: eps, centered: true)
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor {
        try rowNorm("rmsNorm", x, weight: weight, bias: nil, eps: eps, centered: false)
    }

    /// One dispatch: each row's statistics, then the modulated write (norms.glsl MODE 0, modulating).
    /// Modulation rows that do not index as `RowBroadcast`, or that do not fit one binding, take the
    /// two ops, which handle any broadcast and split large operands.
    public func modulatedLayerNorm(_ x: Tensor, scale: Tensor, shift: Tensor, eps: Float) throws -> Tensor {
        let op = "modulatedLayerNorm"
        _ = try OpShapes.broadcastsTo(op, x: x.shape, ["scale": scale.shape, "shift": shift.shape])
        let width = x.shape.dims.last ?? 1
        func rows(_ t: Tensor) -> NormOperand? {
            // Bound whole: at most 4 bytes an element (kernels read weights as f32 or f16).
            guard let rows = RowBroadcast(t.shape, rowsOf: x.shape), t.count * 4 + windowSlack <= maxBindingBytes else { return nil }
            return NormOperand(t, div: rows.div, count: rows.count, rowStride: rows.step == 1 ? width : 1, step: rows.step)
        }
        guard let scaleRows = rows(scale), let shiftRows = rows(shift) else {
            return try modulate(try layerNorm(x, weight: nil, bias: nil, eps: eps), scale: scale, shift: shift)
        }
        return try segmentNorm(op, x, segments: x.count / max(width, 1), width: width, spatial: 1,
                               weight: scaleRows, bias: shiftRows, eps: eps, centered: true, modulate: true)
    }

    private func rowNorm(_ op: String, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float, centered: Bool) throws -> Tensor {
        _ = try OpShapes.rowNorm(op, x: x.shape, weight: weight?.shape, bias: bias?.shape)
        let width = x.shape.dims.last ?? 1
        return try segmentNorm(op, x, segments: x.count / max(width, 1), width: width, spatial: 1,
                               weight: weight.map { NormOperand($0) }, bias: bias.map { NormOperand($0) }, eps: eps, centered: centered)
    }

    public func channelNorm(_ kind: ChannelNorm, _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        _ = try OpShapes.channelNorm(kind, x: x.shape, weight: weight?.shape, bias: bias?.shape)
        let batches = x.shape[0], channels = x.shape[1], spatial = x.count / max(batches * channels, 1)
        switch kind {
        case .groupNorm(let groups):
            let per = channels / groups
            func grouped(_ t: Tensor) -> NormOperand { NormOperand(t, count: groups, rowStride: per) }
            return try segmentNorm("groupNorm", x, segments: batches * groups, width: per * spatial, spatial: spatial,
                                   weight: weight.map(grouped), bias: bias.map(grouped), eps: eps, centered: true)
        case .wanRMS, .pixel:
            return try channelRMS(kind == .wanRMS ? "wanRMS" : "pixelNorm", x, batches: batches, channels: channels, spatial: spatial,
                                  weight: weight, bias: bias, eps: eps, wan: kind == .wanRMS)
        }
    }

    /// Test hook: with this task-local set, the norms run the shared-memory reductions even where the
    /// device has subgroup arithmetic (so both variants can be checked on one device).
    @TaskLocal static var sharedMemoryReductionsOnly = false

    /// The norms kernel whose reductions suit the device: subgroup arithmetic where compute shaders
    /// have it (a shader using it must not reach a device without it), else the shared-memory tree.
    var reducingNormsKernel: KernelFamily {
        Self.hasSubgroupReductions(device.capabilities) && !Self.sharedMemoryReductionsOnly ? .normsSubgroup : .norms
    }

    /// Subgroup arithmetic in compute shaders: what the `normsSubgroup` variant needs.
    static func hasSubgroupReductions(_ caps: VulkanCapabilities) -> Bool {
        caps.subgroupsInCompute && caps.subgroupOperations.isSuperset(of: [.basic, .arithmetic])
    }

    /// An affine operand of norms.glsl (weight or bias; scale or shift when modulating): segment g,
    /// element i reads element `((g / div) mod count) · rowStride + (i / spatial) · step` of it.
    struct NormOperand {
        var tensor: Tensor
        var div = 1, count = 1, rowStride = 0, step = 1

        init(_ tensor: Tensor, div: Int = 1, count: Int = 1, rowStride: Int = 0, step: Int = 1) {
            (self.tensor, self.div, self.count, self.rowStride, self.step) = (tensor, div, count, rowStride, step)
        }
    }

    /// The affine operands bound whole, their push words (base, div, count, rowStride each) and flag bits.
    private func affineBindings(_ op: String, weight: NormOperand?, bias: NormOperand?,
                                fallback: BufferBinding) throws -> (bindings: [BufferBinding], push: [UInt32], flags: UInt32) {
        var flags: UInt32 = 0, bindings: [BufferBinding] = [], push: [UInt32] = []
        for (k, operand) in [weight, bias].enumerated() {
            guard let operand else {
                bindings.append(fallback)
                push += [0, 1, 1, 0]
                continue
            }
            let stored = try self.operand(operand.tensor, op)
            let (binding, base) = try bindWhole(stored, count: operand.tensor.count, op)
            bindings.append(binding)
            push += [base, UInt32(max(operand.div, 1)), UInt32(max(operand.count, 1)), UInt32(operand.rowStride)]
            flags |= (8 << k) | (stored.isHalf ? 2 << k : 0) | (operand.step == 0 ? 256 << k : 0)
        }
        return (bindings, push, flags)
    }

    /// norms.glsl MODE 0: one workgroup per contiguous segment (a row, or a channel group of one
    /// batch item); segments are split into chunks that fit the binding limit.
    private func segmentNorm(_ op: String, _ x: Tensor, segments: Int, width: Int, spatial: Int, weight: NormOperand?, bias: NormOperand?,
                             eps: Float, centered: Bool, modulate: Bool = false) throws -> Tensor {
        try lock.withLock {
            let input = try operand(x, op)
            let (out, output) = try makeActivation(x.shape)
            guard x.count > 0 else { return out }
            let chunks = try BindingWindows.rowChunks(rows: segments, perRow: [(width, input.elementSize), (width, output.elementSize)],
                                                      limitBytes: maxBindingBytes, slack: windowSlack, op: op)
            let threads = width >= 1024 ? 256 : 64
            let kernel = reducingNormsKernel
            for rows in chunks {
                let (xBinding, xBase) = bind(input, rows.lowerBound * width ..< rows.upperBound * width)
                let (outBinding, outBase) = bind(output, rows.lowerBound * width ..< rows.upperBound * width)
                let affine = try affineBindings(op, weight: weight, bias: bias, fallback: xBinding)
                let flags = affine.flags | (input.isHalf ? 1 : 0) | (centered ? 0 : 32) | (modulate ? 128 : 0)
                let push: [UInt32] = [UInt32(rows.count), UInt32(width), UInt32(spatial), UInt32(rows.lowerBound), xBase, outBase]
                    + affine.push + [flags, eps.bitPattern]
                try record(kernel, specialization: [0: UInt32(threads), 1: 0], [xBinding] + affine.bindings + [outBinding], push: push,
                           groups: try self.groups(ofItems: rows.count), label: op)
            }
            return out
        }
    }

    /// norms.glsl MODE 1: statistics over the channels at each position, one dispatch per batch item.
    /// Each invocation reduces alone, so the plain kernel serves every device.
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
                let affine = try affineBindings(op, weight: weight.map { NormOperand($0) }, bias: bias.map { NormOperand($0) }, fallback: xBinding)
                let flags = affine.flags | (input.isHalf ? 1 : 0) | (wan ? 64 : 0)
                let push: [UInt32] = [UInt32(spatial), UInt32(channels), UInt32(spatial), 0, xBase, outBase] + affine.push + [flags, eps.bitPattern]
                try record(.norms, specialization: [0: 64, 1: 1], [xBinding] + affine.bindings + [outBinding], push: push,
                           groups: try groups1D(spatial, groupSize: 64), label: op)
            }
            return out
        }
    }
}
