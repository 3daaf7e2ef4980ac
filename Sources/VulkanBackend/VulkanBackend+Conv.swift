import Tensors

extension VulkanBackend {
    /// conv3d as an implicit GEMM (conv3d.glsl): per batch item, out[O, To·Ho·Wo] = W[O, C·kT·kH·kW] ·
    /// im2col(x), the im2col done in the tile loader. When x or the output exceed the binding limit,
    /// output channels are split into chunks, and input channels too: later channel chunks add to
    /// what the first wrote (the bias comes with the first).
    public func conv3d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        let outShape = try OpShapes.conv3d(x: x.shape, weight: weight.shape, bias: bias?.shape, o)
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let (outChannels, kt, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3], weight.shape[4])
        let (tOut, hOut, wOut) = (outShape[2], outShape[3], outShape[4])
        return try lock.withLock {
            let input = try operand(x, "conv3d")
            let kernel = WeightOperand(weight, try storage(weight, "conv3d"))
            let biasStorage = try bias.map { try operand($0, "conv3d") }
            let (out, output) = try makeActivation(Shape([b, outChannels, tOut, hOut, wOut]))
            guard out.count > 0, x.count > 0 else { return out }
            let kernelVolume = kt * kh * kw, depth = c * kernelVolume
            let positions = tOut * hOut * wOut, frame = t * h * w
            let label = "conv3d \(kernel.label)"
            let (limit, slack) = (maxBindingBytes, windowSlack)
            let channelChunks = try BindingWindows.rowChunks(rows: c, perRow: [(frame, input.elementSize)], limitBytes: limit, slack: slack, op: "conv3d")
            let tiles = GEMMTiles(rows: outChannels, columns: positions, sharedMemory: device.capabilities.maxComputeSharedMemorySize)
            let outputChunks = try BindingWindows.rowChunks(rows: outChannels, perRow: [(positions, output.elementSize), (depth, kernel.storage.elementSize),
                                                                                       (kernel.groupsPerRow, 2)],
                                                            limitBytes: limit, slack: slack, op: "conv3d")
            guard (positions + tiles.bn - 1) / tiles.bn <= device.capabilities.maxComputeWorkGroupCount[0] else {
                throw TensorError("conv3d", "\(positions) output positions per channel exceed one dispatch")
            }
            for batch in 0 ..< b {
                for outputs in outputChunks {
                    let (wBinding, wBase, sBinding, sBase) = kernel.bind(self, rows: outputs, columns: depth)
                    let (outBinding, outBase) = bind(output, (batch * outChannels + outputs.lowerBound) * positions ..< (batch * outChannels + outputs.upperBound) * positions)
                    for channels in channelChunks {
                        let (xBinding, xBase) = bind(input, (batch * c + channels.lowerBound) * frame ..< (batch * c + channels.upperBound) * frame)
                        var flags: UInt32 = input.isHalf ? 1 : 0
                        var (biasBinding, biasBase) = (xBinding, UInt32(0))
                        if channels.lowerBound == 0, let biasStorage {
                            (biasBinding, biasBase) = bind(biasStorage, outputs)
                            flags |= 4 | (biasStorage.isHalf ? 2 : 0)
                        }
                        if channels.lowerBound > 0 { flags |= 8 }
                        if o.temporalPadMode == .replicate { flags |= 16 }
                        let push: [UInt32] = [
                            UInt32(outputs.count), UInt32(positions), UInt32(channels.count * kernelVolume),
                            UInt32(kernelVolume), UInt32(kh * kw), UInt32(kw),
                            UInt32(t), UInt32(h), UInt32(w), UInt32(hOut), UInt32(wOut),
                            UInt32(o.stride.t), UInt32(o.stride.h), UInt32(o.stride.w), UInt32(o.dilation.t), UInt32(o.dilation.h), UInt32(o.dilation.w),
                            UInt32(o.temporalPadding.before), UInt32(o.padding.h), UInt32(o.padding.w),
                            UInt32(channels.lowerBound * kernelVolume), UInt32(depth),
                            xBase, wBase, sBase, UInt32(kernel.group), UInt32(kernel.groupsPerRow),
                            biasBase, outBase, flags,
                        ]
                        let groups = WorkgroupCount(x: (positions + tiles.bn - 1) / tiles.bn, y: (outputs.count + tiles.bm - 1) / tiles.bm)
                        try record(.conv3d, specialization: tiles.specialization(weightType: kernel.typeCode),
                                   [xBinding, wBinding, sBinding, biasBinding, outBinding], push: push, groups: groups, label: label)
                    }
                }
            }
            return out
        }
    }
}
