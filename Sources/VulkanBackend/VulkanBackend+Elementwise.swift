import Tensors

extension VulkanBackend {
    /// Op codes of elementwise.glsl.
    enum ElementOp: UInt32 {
        case add = 1, sub, mul, div, modulate, gatedResidual, geluTanh, gelu, silu, scale, clamp
    }

    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try OpShapes.binary(a.shape, b.shape)
        let code: ElementOp = switch op {
        case .add: .add
        case .sub: .sub
        case .mul: .mul
        case .div: .div
        }
        return try elementwise(code, "\(op)", shape: shape, [a, b])
    }

    public func modulate(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor {
        let shape = try OpShapes.broadcastsTo("modulate", x: x.shape, ["scale": scale.shape, "shift": shift.shape])
        return try elementwise(.modulate, "modulate", shape: shape, [x, scale, shift])
    }

    public func gatedResidual(_ x: Tensor, _ y: Tensor, gate: Tensor) throws -> Tensor {
        let shape = try OpShapes.broadcastsTo("gatedResidual", x: x.shape, ["y": y.shape, "gate": gate.shape])
        return try elementwise(.gatedResidual, "gatedResidual", shape: shape, [x, y, gate])
    }

    public func unary(_ op: UnaryOp, _ x: Tensor) throws -> Tensor {
        switch op {
        case .geluTanh: try elementwise(.geluTanh, "geluTanh", shape: x.shape, [x])
        case .gelu: try elementwise(.gelu, "gelu", shape: x.shape, [x])
        case .silu: try elementwise(.silu, "silu", shape: x.shape, [x])
        case .scale(let s): try elementwise(.scale, "scale", shape: x.shape, [x], parameters: (s, 0))
        case .clamp(let lo, let hi): try elementwise(.clamp, "clamp", shape: x.shape, [x], parameters: (lo, hi))
        }
    }

    /// out = f(inputs…) over `shape`, each input broadcast to it (elementwise.glsl). The box is
    /// coalesced and split (BoxSplitter) so that every window fits a binding.
    func elementwise(_ op: ElementOp, _ label: String, shape: Shape, _ inputs: [Tensor], parameters: (Float, Float) = (0, 0)) throws -> Tensor {
        try lock.withLock {
            let operands = try inputs.map { try operand($0, label) }
            let (out, output) = try makeActivation(shape)
            guard shape.count > 0 else { return out }
            let maxRank = 5
            let strides = inputs.map { Broadcast.strides(of: $0.shape, in: shape) } + [shape.strides]
            let (dims, merged) = BoxSplitter.coalesce(shape.dims, strides)
            let storages = operands + [output]
            let views = storages.indices.map { StridedView(base: 0, strides: merged[$0], elementSize: storages[$0].elementSize) }
            let chunks = try BoxSplitter.chunks(dims, views, limitBytes: maxBindingBytes, slack: windowSlack, maxRank: maxRank, op: label)
            var halfMask: UInt32 = 0
            for (i, operand) in operands.enumerated() where operand.isHalf { halfMask |= 1 << UInt32(i) }
            for chunk in chunks {
                var bindings: [BufferBinding] = [], bases: [UInt32] = []
                for (i, storage) in storages.enumerated() {
                    let (binding, base) = bind(storage, chunk.starts[i] ..< chunk.starts[i] + chunk.extents[i])
                    bindings.append(binding)
                    bases.append(base)
                }
                let outBinding = bindings.removeLast(), outBase = bases.removeLast()
                let rank = chunk.dims.count
                var push: [UInt32] = [UInt32(chunk.count), outBase, op.rawValue, UInt32(rank)]
                push += (0 ..< maxRank).map { $0 < rank ? UInt32(chunk.dims[$0]) : 1 }
                push += (0 ..< 3).map { $0 < bases.count ? bases[$0] : 0 }
                for i in 0 ..< 3 {
                    push += (0 ..< maxRank).map { d in i < operands.count && d < rank ? UInt32(chunk.strides[i][d]) : 0 }
                }
                push += [halfMask, parameters.0.bitPattern, parameters.1.bitPattern]
                while bindings.count < 3 { bindings.append(bindings[0]) }
                try record(.elementwise, bindings + [outBinding], push: push, groups: try groups1D(chunk.count), label: label)
            }
            return out
        }
    }
}
