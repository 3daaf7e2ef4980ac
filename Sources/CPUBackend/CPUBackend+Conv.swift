import CKernels
import Dispatch
import Foundation
import Tensors

extension CPUBackend {
    /// Conv3d. Stride 1 with ≥ 8 output channels (the VAE decoders' convs but their RGB heads): the direct
    /// kernel (`conv3dDirect`), no column matrix; with bf16 operands for a kernel stored in bf16 on an
    /// AVX-512 BF16 CPU. Stride 1 with fewer output channels: the kernel split
    /// into its kT temporal taps, each input frame's columns gathered once per band of rows and
    /// multiplied by OpenBLAS (`conv3dByTaps`). Strided convs gather per output frame (`conv3dPerFrame`).
    public func conv3d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        try profiler.measure(OpProfiler.byShape ? "conv3d \(weight.dtype) \(x.shape) * \(weight.shape) s\(o.stride.h)" : "conv3d") {
            _ = try OpShapes.conv3d(x: x.shape, weight: weight.shape, bias: bias?.shape, o)
            if o.stride.t == 1, o.stride != (1, 1, 1), o.dilation == (1, 1, 1), weight.shape[0] >= 8 {
                return try conv3dOnPhases(x, weight, bias: bias, o)
            }
            guard o.stride == (1, 1, 1) && o.dilation == (1, 1, 1) else { return try conv3dPerFrame(x, weight, bias: bias, o) }
            // Fewer than 8 output channels (an RGB conv) would fill a register tile by a small fraction; the Wan
            // decoder's head, as 3 taps × 3 channels, fills 9 of 16 lanes and still runs ~4× faster than the columns.
            return weight.shape[0] >= 8 ? try conv3dDirect(x, weight, bias: bias, o) : try conv3dByTaps(x, weight, bias: bias, o)
        }
    }

    /// With cached frames: the direct kernel reads them (f32 or compacted f16) and x in place through a
    /// frame table, so the joined input (3 frames of 96 channels at 832×480: 460 MB) is never made; the
    /// other paths join them first.
    public func conv3d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions, history: [Tensor]) throws -> Tensor {
        guard !history.isEmpty else { return try conv3d(x, weight, bias: bias, o) }
        let parts = history + [x]
        var dims = x.shape.dims
        dims[2] = parts.reduce(0) { $0 + $1.shape[2] }
        let joined = Shape(dims)
        guard o.stride == (1, 1, 1), o.dilation == (1, 1, 1), weight.shape[0] >= 8,
              parts.allSatisfy({ $0.shape.rank == 5 && $0.shape[0] == dims[0] && $0.shape[1] == dims[1] && $0.shape[3] == dims[3] && $0.shape[4] == dims[4] })
        else { return try conv3d(try concat(parts, axis: 2), weight, bias: bias, o) }
        return try profiler.measure(OpProfiler.byShape ? "conv3d \(weight.dtype) \(joined) * \(weight.shape) s1 (in place)" : "conv3d") {
            _ = try OpShapes.conv3d(x: joined, weight: weight.shape, bias: bias?.shape, o)
            // Per part: its base pointer, whether it holds f16 halves, and its frame count.
            let sources: [(pointer: UnsafeRawPointer, half: Bool, frames: Int)] = try parts.map { t in
                if let half = t.storage as? HostHalfBuffer { return (UnsafeRawPointer(half.halves), true, t.shape[2]) }
                return (UnsafeRawPointer(try values(t, "conv3d").baseAddress!), false, t.shape[2])
            }
            let (c, plane) = (dims[1], dims[3] * dims[4])
            let tables: [[vk_conv3d_frame]] = (0 ..< dims[0]).map { batch in
                sources.flatMap { source in
                    (0 ..< source.frames).map { j in
                        let offset = (batch * c * source.frames + j) * plane  // channel 0 of frame j of this batch item
                        let bytes = offset * (source.half ? 2 : 4)
                        return vk_conv3d_frame(data: source.pointer + bytes, channel_stride: source.frames * plane, half: source.half ? 1 : 0)
                    }
                }
            }
            return try withExtendedLifetime(parts) { try conv3dDirect(nil, joined, weight, bias: bias, o, frames: tables) }
        }
    }

    /// Stride 1 on the direct kernel of CKernels (conv3d.c): no column matrix, the weights packed once
    /// per call into register-tile order, work items (a band of output rows × a group of output channels) claimed one at a time by one
    /// worker per core, each with a scratch of its own (input panels and rows of accumulators).
    private func conv3dDirect(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        try conv3dDirect(x, x.shape, weight, bias: bias, o, frames: nil)
    }

    /// `x` (shape `inputShape`), or with `frames` (per batch item, a table of its input frames) no x at all.
    private func conv3dDirect(_ x: Tensor?, _ inputShape: Shape, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions,
                              frames: [[vk_conv3d_frame]]?) throws -> Tensor {
        let outShape = try o.outputShape(input: inputShape, weight: weight.shape)
        let (b, c, t, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3], inputShape[4])
        let input = try x.map { try values($0, "conv3d") }
        let stored = (weight.storage as? HostWeight)?.halfBits
        let kernel = stored == nil ? try values(weight, "conv3d") : nil
        let biasValues = try bias.map { try values($0, "conv3d") }
        if let biasValues, biasValues.count != weight.shape[0] {
            throw TensorError("conv3d", "bias of \(biasValues.count) for \(weight.shape[0]) output channels")
        }
        let (out, buffer) = allocate(outShape)
        var p = vk_conv3d()
        (p.c, p.t, p.h, p.w) = (Int32(c), Int32(t), Int32(h), Int32(w))
        (p.o, p.kt, p.kh, p.kw) = (Int32(weight.shape[0]), Int32(weight.shape[2]), Int32(weight.shape[3]), Int32(weight.shape[4]))
        (p.pad_h, p.pad_w, p.pad_before) = (Int32(o.padding.h), Int32(o.padding.w), Int32(o.temporalPadding.before))
        p.replicate = o.temporalPadMode == .replicate ? 1 : 0
        (p.t_out, p.h_out, p.w_out) = (Int32(outShape[2]), Int32(outShape[3]), Int32(outShape[4]))
        p.workers = Int32(ProcessInfo.processInfo.activeProcessorCount)
        // A kernel stored in bf16 meets bf16 operands where the CPU has a bf16 dot product (as PyTorch's bf16
        // convolutions do); every other kernel runs the f32 one.
        let bf16 = stored?.bf16 == true && Self.bf16ConvAvailable && vk_conv3d_bf16_plan(&p) == 0
        if !bf16 {
            guard vk_conv3d_plan(&p, Self.convLevelCap) == 0 else { throw TensorError("conv3d", "x \(inputShape) with weight \(weight.shape), \(o)") }
        }
        let packed = HostBuffer(count: bf16 ? (vk_conv3d_bf16_packed_halves(&p) + 1) / 2 : vk_conv3d_packed_floats(&p), pool: pool)
        // f16 / bf16 kernels are packed from their stored bits: no f32 copy of the model's convs stays resident.
        if bf16 {
            let halves = UnsafeMutableRawPointer(packed.pointer).assumingMemoryBound(to: UInt16.self)
            vk_conv3d_bf16_pack(&p, stored!.bits, halves)
            p.weights16 = UnsafePointer(halves)
        } else if let stored {
            vk_conv3d_pack_16(&p, stored.bits, stored.bf16 ? 1 : 0, packed.pointer)
        } else {
            vk_conv3d_pack(&p, kernel!.baseAddress, packed.pointer)
        }
        p.weights = UnsafePointer(packed.pointer)
        p.bias = biasValues?.baseAddress
        let scratchFloats = bf16 ? (vk_conv3d_bf16_scratch_bytes(&p) + 3) / 4 : vk_conv3d_scratch_floats(&p), items = Int(vk_conv3d_items(&p))
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, items)
        let inputFrames = c * t * h * w, outputFrames = outShape.count / b
        // Items claimed one at a time by one worker per core, each with its own scratch.
        func runItems(_ problem: UnsafePointer<vk_conv3d>) {
            let shared = UncheckedSendable(problem)
            var next: Int32 = 0
            withUnsafeMutablePointer(to: &next) { counter in
                let claim = UncheckedSendable(counter)
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
                    defer { scratch.deallocate() }
                    while true {
                        let item = vk_claim_next(claim.value)
                        if item >= items { break }
                        if bf16 { vk_conv3d_bf16_run(shared.value, item, item + 1, scratch) } else { vk_conv3d_run(shared.value, item, item + 1, scratch) }
                    }
                }
            }
        }
        withExtendedLifetime(packed) {
            for batch in 0 ..< b {
                var problem = p
                problem.x = input.map { UnsafePointer($0.baseAddress! + batch * inputFrames) }
                problem.y = buffer.pointer + batch * outputFrames
                (frames?[batch] ?? []).withUnsafeBufferPointer { table in
                    problem.frames = frames == nil ? nil : table.baseAddress
                    withUnsafePointer(to: problem, runItems)
                }
            }
        }
        return out
    }

    /// VACEKIT_CPU_KERNELS caps the conv3d kernel level as it caps the GEMMs' (portable: the C tiles).
    static let convLevelCap: Int32 = vk_kernel_level_from_env()
    /// Whether the CPU can run the bf16 conv3d: AVX-512 BF16, and the level cap allows AVX-512.
    public static let bf16ConvSupported: Bool = {
        let needed = UInt32(vk_cpu_avx512f | vk_cpu_avx512bw | vk_cpu_avx512bf16)
        return convLevelCap >= Int32(vk_level_avx512) && vk_cpu_features() & needed == needed
    }()
    /// Whether kernels stored in bf16 run the bf16 conv3d: where it is supported and, timed once on this CPU,
    /// faster than widening them for the f32 kernel (vk_conv3d_bf16_relative_speed: Zen 4 ~1.9×, a Xeon with
    /// two 512-bit FMA ports ~0.6×). VACEKIT_CONV=f32 or bf16 makes the choice instead.
    public static let bf16ConvAvailable: Bool = {
        guard bf16ConvSupported else { return false }
        switch ProcessInfo.processInfo.environment["VACEKIT_CONV"] {
        case "f32": return false
        case "bf16": return true
        default: return vk_conv3d_bf16_relative_speed() > 1.1
        }
    }()

    private func conv3dByTaps(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        let outShape = try o.outputShape(input: x.shape, weight: weight.shape)
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let (outChannels, kt, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3], weight.shape[4])
        let (tOut, hOut, wOut) = (outShape[2], outShape[3], outShape[4])
        let input = try values(x, "conv3d"), kernel = try values(weight, "conv3d")
        let biasValues = try bias.map { try values($0, "conv3d") }
        let (out, buffer) = allocate(Shape([b, outChannels, tOut, hOut, wOut]))
        let planeOut = hOut * wOut, depth = c * kh * kw
        let paddedFrames = t + o.temporalPadding.before + o.temporalPadding.after

        // The kernel as [O, (dt, C, kh, kw)]: output frame t·'s K runs over the column slots of padded
        // frames t'…t'+kT−1, which lie next to each other, so one GEMM covers all temporal taps.
        let stacked = HostBuffer(count: outChannels * kt * depth, pool: pool)
        for oc in 0 ..< outChannels {
            for ci in 0 ..< c {
                for dt in 0 ..< kt {
                    let source = ((oc * c + ci) * kt + dt) * kh * kw, target = (oc * kt + dt) * depth + ci * kh * kw
                    for r in 0 ..< kh * kw { stacked.pointer[target + r] = kernel[source + r] }
                }
            }
        }
        // Slots of [C·kh·kw, rows·W'] per padded frame, in a band of rows small enough for ~16 M floats.
        let band = max(1, min(hOut, (16 << 20) / max(depth * wOut * paddedFrames, 1)))
        let columns = HostBuffer(count: paddedFrames * depth * band * wOut, pool: pool)
        let col = SharedPointer(columns.pointer), source = SharedPointer(UnsafeMutablePointer(mutating: input.baseAddress!))
        for batch in 0 ..< b {
            for row0 in stride(from: 0, to: hOut, by: band) {
                let rows = min(band, hOut - row0), n = rows * wOut, slot = depth * n
                for p in 0 ..< paddedFrames {
                    var frame = p - o.temporalPadding.before
                    if o.temporalPadMode == .replicate { frame = min(max(frame, 0), t - 1) }
                    let target = col.pointer + p * slot
                    guard frame >= 0, frame < t else { target.update(repeating: 0, count: slot); continue }
                    let planeIn = source.pointer + (batch * c * t + frame) * h * w  // channel 0 of the frame
                    parallelRanges(c, minChunk: max(1, c / 8)) { channels in
                        vk_im2col_frame(planeIn, t * h * w, Int32(h), Int32(w), Int32(kh), Int32(kw), Int32(o.padding.h), Int32(o.padding.w),
                                        Int32(row0), Int32(rows), Int32(wOut), Int32(channels.lowerBound), Int32(channels.upperBound), target)
                    }
                }
                for frame in 0 ..< tOut {
                    let target = buffer.pointer + (batch * outChannels * tOut + frame) * planeOut + row0 * wOut
                    BLAS.sgemm(m: outChannels, n: n, k: kt * depth, a: stacked.pointer, lda: kt * depth,
                               b: columns.pointer + frame * slot, ldb: n, c: target, ldc: tOut * planeOut)
                    if let biasValues {
                        for oc in 0 ..< outChannels { addBias(target + oc * tOut * planeOut, n, biasValues[oc]) }
                    }
                }
            }
        }
        return out
    }

    /// Stride (1, sh, sw) as a stride-1 conv over the input's sh·sw phases (space to depth): output row y reads
    /// padded rows sh·y + dy, and with dy = sh·q + r that is row y + q of phase r — so the phases, as sh·sw times
    /// the channels, meet a kernel of ⌈kh/sh⌉ × ⌈kw/sw⌉ taps (zeros where sh·q + r ≥ kh) on the direct kernel. For
    /// the VAE encoders' 3×3 stride-2 downsamples that is 16 multiplies where 9 are needed, on a kernel several
    /// times faster than the columns' GEMM.
    private func conv3dOnPhases(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        let outShape = try o.outputShape(input: x.shape, weight: weight.shape)
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let (oc, kt, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3], weight.shape[4])
        let (sh, sw) = (o.stride.h, o.stride.w), (qh, qw) = ((kh + o.stride.h - 1) / o.stride.h, (kw + o.stride.w - 1) / o.stride.w)
        let (hp, wp) = (outShape[3] + qh - 1, outShape[4] + qw - 1), phases = sh * sw
        // phased[b][(c·sh + ry)·sw + rx][t][j][i] = padded x[b][c][t][sh·j + ry][sw·i + rx] (0 outside x)
        let input = SharedPointer(UnsafeMutablePointer(mutating: try values(x, "conv3d").baseAddress!))
        let (phased, buffer) = allocate(Shape([b, c * phases, t, hp, wp]))
        let target = SharedPointer(buffer.pointer)
        parallelRanges(b * c * phases * t * hp, minChunk: 64) { rows in
            for row in rows {
                let j = row % hp, f = row / hp % t, phase = row / (hp * t) % phases, plane = row / (hp * t * phases)  // plane = b·C + c
                let (ry, rx) = (phase / sw, phase % sw), sy = sh * j + ry - o.padding.h
                let out = target.pointer + row * wp
                guard sy >= 0, sy < h else { out.update(repeating: 0, count: wp); continue }
                let source = input.pointer + ((plane * t + f) * h + sy) * w
                for i in 0 ..< wp {
                    let sx = sw * i + rx - o.padding.w
                    out[i] = sx >= 0 && sx < w ? source[sx] : 0
                }
            }
        }
        // kernel[o][(c·sh + ry)·sw + rx][dt][qy][qx] = weight[o][c][dt][sh·qy + ry][sw·qx + rx] (0 past kh, kw)
        let kernel = try floats(weight)
        var phasedKernel = [Float](repeating: 0, count: oc * c * phases * kt * qh * qw)
        for o in 0 ..< oc {
            for ci in 0 ..< c {
                for dt in 0 ..< kt {
                    for dy in 0 ..< kh {
                        for dx in 0 ..< kw {
                            let channel = (ci * sh + dy % sh) * sw + dx % sw
                            let at = (((o * c * phases + channel) * kt + dt) * qh + dy / sh) * qw + dx / sw
                            phasedKernel[at] = kernel[(((o * c + ci) * kt + dt) * kh + dy) * kw + dx]
                        }
                    }
                }
            }
        }
        let options = Conv3DOptions(temporalPadding: (o.temporalPadding.before, o.temporalPadding.after), temporalPadMode: o.temporalPadMode)
        let out = try conv3dDirect(phased, try tensor(phasedKernel, [oc, c * phases, kt, qh, qw]), bias: bias, options)
        guard out.shape == outShape else { throw TensorError("conv3d", "phases gave \(out.shape) for \(outShape)") }
        return out
    }

    private func conv3dPerFrame(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ o: Conv3DOptions) throws -> Tensor {
        let outShape = try o.outputShape(input: x.shape, weight: weight.shape)
        let (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let (outChannels, kt, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3], weight.shape[4])
        let (tOut, hOut, wOut) = (outShape[2], outShape[3], outShape[4])
        let input = try values(x, "conv3d"), kernel = try values(weight, "conv3d")
        let biasValues = try bias.map { try values($0, "conv3d") }
        let (out, buffer) = allocate(Shape([b, outChannels, tOut, hOut, wOut]))
        let depth = c * kt * kh * kw
        let band = max(1, min(hOut, (32 << 20) / max(depth * wOut, 1)))
        let columns = HostBuffer(count: depth * band * wOut, pool: pool)
        let col = SharedPointer(columns.pointer)
        let planeOut = hOut * wOut
        for batch in 0 ..< b {
            for frame in 0 ..< tOut {
                for row0 in stride(from: 0, to: hOut, by: band) {
                    let rows = min(band, hOut - row0), n = rows * wOut
                    // col[(ci, dt, dy, dx), (y, x)] = padded input sample
                    parallelRanges(depth, minChunk: 4) { items in
                        for item in items {
                            let dx = item % kw, dy = item / kw % kh, dt = item / (kw * kh) % kt, ci = item / (kw * kh * kt)
                            var sourceT = frame * o.stride.t + dt * o.dilation.t - o.temporalPadding.before
                            if o.temporalPadMode == .replicate { sourceT = min(max(sourceT, 0), t - 1) }
                            let plane = (sourceT >= 0 && sourceT < t) ? ((batch * c + ci) * t + sourceT) * h * w : -1
                            for y in 0 ..< rows {
                                let sy = (row0 + y) * o.stride.h + dy * o.dilation.h - o.padding.h
                                for xo in 0 ..< wOut {
                                    let sx = xo * o.stride.w + dx * o.dilation.w - o.padding.w
                                    let inside = plane >= 0 && sy >= 0 && sy < h && sx >= 0 && sx < w
                                    col[item * n + y * wOut + xo] = inside ? input[plane + sy * w + sx] : 0
                                }
                            }
                        }
                    }
                    let target = buffer.pointer + (batch * outChannels * tOut + frame) * planeOut + row0 * wOut
                    BLAS.sgemm(m: outChannels, n: n, k: depth, a: kernel.baseAddress!, lda: depth, b: columns.pointer, ldb: n,
                               c: target, ldc: tOut * planeOut)
                    if let biasValues {
                        for oc in 0 ..< outChannels { for i in 0 ..< n { target[oc * tOut * planeOut + i] += biasValues[oc] } }
                    }
                }
            }
        }
        return out
    }

    private func addBias(_ row: UnsafeMutablePointer<Float>, _ n: Int, _ value: Float) {
        for i in 0 ..< n { row[i] += value }
    }
}
