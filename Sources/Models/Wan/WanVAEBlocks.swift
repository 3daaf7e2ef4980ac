import Tensors

// The building blocks of the Wan2.1 causal video VAE (Wan2.1 `wan/modules/vae.py`: CausalConv3d,
// RMS_norm, ResidualBlock, AttentionBlock, Resample). Every block takes a chunk of frames and the
// run's `WanVAECache`, so a video can be processed a few frames at a time with the result of one
// whole-video pass: each temporal convolution keeps the last frames of its input for the next chunk.

/// The temporal state of one encode or decode run: for each causal convolution, the last (up to 2)
/// frames of its input; for each temporal resampler, whether it has seen its first frame.
/// Its size is set by the frame size, never by the video length; the frames are held in the backend's
/// compact form (`Backend.compact`: f16 on a CPU backend that keeps activations so, half the memory).
final class WanVAECache {
    var frames: [Int: Tensor] = [:]
    /// The causal convolutions' frames, one [B, C, 1, H, W] tensor each: a one-frame chunk's input joins
    /// the cache as it is, with no copy, and the oldest frame is let go before the convolution runs.
    var convFrames: [Int: [Tensor]] = [:]
    var seen: Set<Int> = []

    /// Deliberate mistakes for the tests that show a wrong cache cannot pass: keeping one frame
    /// instead of two, or padding behind instead of in front.
    enum Fault { case dropFrame, padBehind }
    let fault: Fault?
    init(fault: Fault? = nil) { self.fault = fault }
}

/// Hands out one cache slot per temporal layer, in construction order.
struct WanVAESlots {
    private(set) var count = 0
    mutating func next() -> Int {
        defer { count += 1 }
        return count
    }
}

/// `CausalConv3d`: zero padding of `kT − 1` frames in front only (none behind), `pad` zeros on each
/// spatial side. With a cache, the padding frames are the previous chunk's last input frames.
struct WanCausalConv {
    let weight, bias: Tensor
    let spatialPadding: Int
    let slot: Int?  // nil for kT = 1 (nothing to carry)

    init(_ name: String, _ weights: any WeightProvider, _ backend: any Backend, slots: inout WanVAESlots) throws {
        var w = try weights.load(name + ".weight", on: backend)
        if w.shape.rank == 4 { w = try backend.reshape(w, [w.shape[0], w.shape[1], 1, w.shape[2], w.shape[3]]) }
        weight = w
        bias = try weights.load(name + ".bias", on: backend)
        spatialPadding = (w.shape[3] - 1) / 2
        slot = w.shape[2] > 1 ? slots.next() : nil
    }

    var outChannels: Int { weight.shape[0] }
    var inChannels: Int { weight.shape[1] }

    // x [B, C, T, H, W] → [B, O, T, H, W]
    func callAsFunction(_ x: Tensor, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        let kt = weight.shape[2]
        guard let slot else {
            return try b.conv3d(x, weight, bias: bias, Conv3DOptions(padding: (spatialPadding, spatialPadding)))
        }
        var previous = cache.convFrames.removeValue(forKey: slot) ?? []
        let front = kt - 1 - previous.count
        let pad = cache.fault == .padBehind ? (0, front) : (front, 0)
        // The next chunk's cache: the last kT − 1 input frames, f16 where the backend keeps activations so.
        let t = x.shape[2], keep = min(cache.fault == .dropFrame ? 1 : kt - 1, previous.count + t)
        let fromX = min(keep, t)
        let kept = Array(previous.suffix(keep - fromX))
            + (try (t - fromX ..< t).map { t == 1 ? x : try b.slice(x, axis: 2, $0 ..< $0 + 1) })
        cache.convFrames[slot] = try kept.map { try b.compact($0) }
        // The cached frames, then x: read in place where the backend can (never joined: at 480×832 the
        // joined 3-frame input of a 96-channel conv would be 460 MB).
        let history = previous
        previous = []
        return try b.conv3d(x, weight, bias: bias, Conv3DOptions(padding: (spatialPadding, spatialPadding), temporalPadding: pad),
                            history: history)
    }
}

/// The decoder's last causal conv (`decoder.head.2`, 96 → 3 channels, 3×3×3), carrying partial sums
/// instead of input frames: output t = W₀·x[t−2] + W₁·x[t−1] + W₂·x[t] (tap dt = 0 meets the oldest
/// frame, as the zero padding in front implies), so after frame t the cache holds W₀·x[t−1] + W₁·x[t]
/// (for output t + 1) and W₀·x[t] (for t + 2): 2 × 3 channels instead of 2 × 96, 300 MB less at
/// 480×832 in f32. One conv with the taps stacked as output channels gives all three contributions.
struct WanCausalHead {
    let taps: Tensor   // [kT·O, C, 1, kH, kW]: rows [dt·O, (dt+1)·O) hold tap dt
    let tapBias: Tensor  // [kT·O]: the bias on the newest tap's rows only
    let outChannels, kt, spatialPadding: Int
    let slot: Int

    init(_ conv: WanCausalConv, on b: any Backend) throws {
        let w = conv.weight  // [O, C, kT, kH, kW]
        let (o, c, kt, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3], w.shape[4])
        guard kt > 1, let slot = conv.slot else { throw TensorError("WanVAE", "decoder.head.2 has kT = \(kt): not a causal 3-D conv") }
        taps = try b.reshape(try b.permute(w, [2, 0, 1, 3, 4]), [kt * o, c, 1, kh, kw])
        tapBias = try b.tensor([Float](repeating: 0, count: (kt - 1) * o) + (try b.floats(conv.bias)), [kt * o])
        (outChannels, self.kt, spatialPadding, self.slot) = (o, kt, conv.spatialPadding, slot)
    }

    // x [B, C, T, H, W] → [B, O, T, H, W]
    func callAsFunction(_ x: Tensor, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        let z = try b.conv3d(x, taps, bias: tapBias, Conv3DOptions(padding: (spatialPadding, spatialPadding)))  // [B, kT·O, T, H, W]
        let o = outChannels
        // pending[k]: the sum the frames seen so far add to the output k + 1 frames ahead (none yet: the zero padding).
        var pending: [Tensor?] = cache.convFrames[slot].map { $0.map(Optional.some) } ?? Array(repeating: nil, count: kt - 1)
        var outputs: [Tensor] = []
        for t in 0 ..< x.shape[2] {
            let frame = try b.slice(z, axis: 2, t ..< t + 1)
            func tap(_ dt: Int) throws -> Tensor { try b.slice(frame, axis: 1, dt * o ..< (dt + 1) * o) }
            let newest = try tap(kt - 1)
            outputs.append(try pending[0].map { try b.binary(.add, newest, $0) } ?? newest)
            for k in 0 ..< kt - 1 {
                let contribution = try tap(kt - 2 - k)
                pending[k] = try (k + 1 < kt - 1 ? pending[k + 1] : nil).map { try b.binary(.add, contribution, $0) } ?? contribution
            }
        }
        cache.convFrames[slot] = pending.map { $0! }
        return outputs.count == 1 ? outputs[0] : try b.concat(outputs, axis: 2)
    }
}

/// `RMS_norm` over channels: `x / max(‖x‖₂, 1e-12) · √C · γ` (no mean, no bias in Wan2.1).
struct WanRMSNorm {
    let gamma: Tensor  // [C]

    init(_ name: String, _ weights: any WeightProvider, _ backend: any Backend) throws {
        let g = try weights.load(name, on: backend)
        gamma = try backend.reshape(g, [g.shape[0]])
    }

    func callAsFunction(_ x: Tensor, on b: any Backend) throws -> Tensor {
        try b.channelNorm(.wanRMS, x, weight: gamma, bias: nil, eps: 1e-12)
    }
}

/// `ResidualBlock`: RMS → SiLU → CausalConv 3³ → RMS → SiLU → (dropout) → CausalConv 3³, plus the
/// input through a 1×1×1 shortcut when the channel count changes.
struct WanResidualBlock {
    let norm1, norm2: WanRMSNorm
    let conv1, conv2: WanCausalConv
    let shortcut: WanCausalConv?

    init(_ p: String, _ weights: any WeightProvider, _ backend: any Backend, slots: inout WanVAESlots) throws {
        // Slot order is irrelevant to the result; the original takes shortcut, then the two convs.
        shortcut = weights.contains(p + ".shortcut.weight") ? try WanCausalConv(p + ".shortcut", weights, backend, slots: &slots) : nil
        norm1 = try WanRMSNorm(p + ".residual.0.gamma", weights, backend)
        conv1 = try WanCausalConv(p + ".residual.2", weights, backend, slots: &slots)
        norm2 = try WanRMSNorm(p + ".residual.3.gamma", weights, backend)
        conv2 = try WanCausalConv(p + ".residual.6", weights, backend, slots: &slots)
    }

    var outChannels: Int { conv2.outChannels }

    func callAsFunction(_ x: Tensor, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        let h = try shortcut.map { try $0(x, cache, on: b) } ?? x
        var y = try conv1(try b.unary(.silu, try norm1(x, on: b)), cache, on: b)
        y = try conv2(try b.unary(.silu, try norm2(y, on: b)), cache, on: b)
        return try b.binary(.add, y, h)
    }
}

/// `AttentionBlock` of the middle: per frame, single-head self-attention over its H·W pixels
/// (scale 1/√C), with 1×1 convolutions for q, k, v (one `to_qkv`) and the output projection.
struct WanAttentionBlock {
    let norm: WanRMSNorm
    let toQKV, toQKVBias, projection, projectionBias: Tensor

    init(_ p: String, _ weights: any WeightProvider, _ backend: any Backend) throws {
        norm = try WanRMSNorm(p + ".norm.gamma", weights, backend)
        let qkv = try weights.load(p + ".to_qkv.weight", on: backend)
        toQKV = try backend.reshape(qkv, [qkv.shape[0], qkv.shape[1]])
        toQKVBias = try weights.load(p + ".to_qkv.bias", on: backend)
        let proj = try weights.load(p + ".proj.weight", on: backend)
        projection = try backend.reshape(proj, [proj.shape[0], proj.shape[1]])
        projectionBias = try weights.load(p + ".proj.bias", on: backend)
    }

    // x [B, C, T, H, W] → same
    func callAsFunction(_ x: Tensor, on b: any Backend) throws -> Tensor {
        let (batch, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let pixels = try b.reshape(try b.permute(try norm(x, on: b), [0, 2, 3, 4, 1]), [batch * t, h * w, c])  // [B·T, HW, C]
        let qkv = try b.linear(pixels, toQKV, bias: toQKVBias)  // [B·T, HW, 3C]
        let attended = try b.attention(q: try b.slice(qkv, axis: 2, 0 ..< c), k: try b.slice(qkv, axis: 2, c ..< 2 * c),
                                       v: try b.slice(qkv, axis: 2, 2 * c ..< 3 * c), heads: 1, keyMask: nil)
        let out = try b.linear(attended, projection, bias: projectionBias)  // [B·T, HW, C]
        let video = try b.permute(try b.reshape(out, [batch, t, h, w, c]), [0, 4, 1, 2, 3])
        return try b.binary(.add, video, x)
    }
}

/// `Resample`. Down: per frame, zero-pad right and bottom by one, Conv2d 3×3 stride 2; then for 3-D,
/// a time conv (3,1,1) stride 2 whose first output frame is the first input frame untouched.
/// Up: for 3-D, a causal time conv C → 2C that does not see frame 0 and doubles every later frame
/// (channels [0, C) first, [C, 2C) second); then per frame nearest 2× and Conv2d 3×3 C → C/2.
struct WanResample {
    enum Mode { case down, up }
    let mode: Mode
    let spatial: WanCausalConv          // the Conv2d, as a conv3d with kT = 1
    let timeConv: Tensor?, timeBias: Tensor?
    let slot: Int?                       // up: the time conv's input frames; down: its last input frame

    init(_ p: String, _ mode: Mode, _ weights: any WeightProvider, _ backend: any Backend, slots: inout WanVAESlots) throws {
        self.mode = mode
        spatial = try WanCausalConv(p + ".resample.1", weights, backend, slots: &slots)
        if weights.contains(p + ".time_conv.weight") {
            timeConv = try weights.load(p + ".time_conv.weight", on: backend)
            timeBias = try weights.load(p + ".time_conv.bias", on: backend)
            slot = slots.next()
        } else {
            (timeConv, timeBias, slot) = (nil, nil, nil)
        }
    }

    var outChannels: Int { spatial.outChannels }

    func callAsFunction(_ x: Tensor, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        switch mode {
        case .down:
            var y = try b.pad(try b.pad(x, axis: 3, before: 0, after: 1, mode: .zeros), axis: 4, before: 0, after: 1, mode: .zeros)
            y = try b.conv3d(y, spatial.weight, bias: spatial.bias, Conv3DOptions(stride: (1, 2, 2)))
            guard let timeConv, let slot else { return y }
            return try downInTime(y, timeConv, slot, cache, on: b)
        case .up:
            var y = x
            if let timeConv, let slot { y = try upInTime(x, timeConv, slot, cache, on: b) }
            y = try b.interpolate(y, size: [y.shape[3] * 2, y.shape[4] * 2], mode: .nearest)
            return try spatial(y, cache, on: b)
        }
    }

    // s [B, C, T, H, W] (spatially downsampled) → [B, C, T', H, W]: y[0] = s[0], y[k] = conv(s[2k−2 … 2k]).
    private func downInTime(_ s: Tensor, _ w: Tensor, _ slot: Int, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        let options = Conv3DOptions(stride: (2, 1, 1))
        let output: Tensor
        if let last = cache.frames[slot] {
            output = try b.conv3d(try b.concat([last, s], axis: 2), w, bias: timeBias, options)
        } else if s.shape[2] >= 3 {
            output = try b.concat([try b.slice(s, axis: 2, 0 ..< 1), try b.conv3d(s, w, bias: timeBias, options)], axis: 2)
        } else {
            output = try b.slice(s, axis: 2, 0 ..< 1)  // the first chunk: one frame, passed through
        }
        cache.frames[slot] = try b.compact(try b.slice(s, axis: 2, (s.shape[2] - 1) ..< s.shape[2]))
        return output
    }

    // x [B, C, T, H, W] → [B, C, T'', H, W]: frame 0 passes once; each later frame becomes two.
    private func upInTime(_ x: Tensor, _ w: Tensor, _ slot: Int, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        var head: Tensor?, rest = x
        if !cache.seen.contains(slot) {
            cache.seen.insert(slot)
            head = try b.slice(x, axis: 2, 0 ..< 1)
            guard x.shape[2] > 1 else { return x }
            rest = try b.slice(x, axis: 2, 1 ..< x.shape[2])
        }
        let previous = cache.frames[slot], cached = previous?.shape[2] ?? 0, newFrames = rest.shape[2]
        // The next cache: the last 2 frames of previous ++ rest (a compacted previous is an operand of
        // concat only: joined whole, then its last frame taken).
        cache.frames[slot] = try b.compact(
            newFrames >= 2 || previous == nil ? try b.slice(rest, axis: 2, max(0, newFrames - 2) ..< newFrames)
                : try b.slice(try b.concat([previous!, rest], axis: 2), axis: 2, cached - 1 ..< cached + 1))
        let z = try b.conv3d(rest, w, bias: timeBias, Conv3DOptions(temporalPadding: (2 - cached, 0)), history: previous.map { [$0] } ?? [])  // [B, 2C, T, H, W]
        let (batch, c2, t, h, wd) = (z.shape[0], z.shape[1], z.shape[2], z.shape[3], z.shape[4])
        // [B, 2, C, T, H, W] → [B, C, T, 2, H, W] → [B, C, 2T, H, W]
        let doubled = try b.reshape(try b.permute(try b.reshape(z, [batch, 2, c2 / 2, t, h, wd]), [0, 2, 3, 1, 4, 5]),
                                    [batch, c2 / 2, 2 * t, h, wd])
        return try head.map { try b.concat([$0, doubled], axis: 2) } ?? doubled
    }
}

/// The middle of both encoder and decoder: residual block, attention, residual block.
struct WanVAEMiddle {
    let first, second: WanResidualBlock
    let attention: WanAttentionBlock

    init(_ p: String, _ weights: any WeightProvider, _ backend: any Backend, slots: inout WanVAESlots) throws {
        first = try WanResidualBlock(p + ".middle.0", weights, backend, slots: &slots)
        attention = try WanAttentionBlock(p + ".middle.1", weights, backend)
        second = try WanResidualBlock(p + ".middle.2", weights, backend, slots: &slots)
    }

    func callAsFunction(_ x: Tensor, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        try second(try attention(try first(x, cache, on: b), on: b), cache, on: b)
    }
}

/// One entry of `encoder.downsamples` / `decoder.upsamples`, told apart by the tensors it holds.
enum WanVAEStage {
    case residual(WanResidualBlock)
    case resample(WanResample)

    init(_ p: String, _ mode: WanResample.Mode, _ weights: any WeightProvider, _ backend: any Backend, slots: inout WanVAESlots) throws {
        if weights.contains(p + ".residual.2.weight") {
            self = .residual(try WanResidualBlock(p, weights, backend, slots: &slots))
        } else if weights.contains(p + ".resample.1.weight") {
            self = .resample(try WanResample(p, mode, weights, backend, slots: &slots))
        } else {
            throw TensorError("WanVAE", "\(p): neither a residual block nor a resampler (no \(p).residual.2.weight or \(p).resample.1.weight)")
        }
    }

    func callAsFunction(_ x: Tensor, _ cache: WanVAECache, on b: any Backend) throws -> Tensor {
        switch self {
        case .residual(let block): return try block(x, cache, on: b)
        case .resample(let resample): return try resample(x, cache, on: b)
        }
    }

    /// An upsampler: its output has twice the rows and columns.
    var upsamplesInSpace: Bool { if case .resample(let r) = self { return r.mode == .up } else { return false } }
    var isResample: Bool { if case .resample = self { return true } else { return false } }
    /// A 3-D downsampler: its time conv (stride 2) takes the frames of a chunk together.
    var downsamplesInTime: Bool { if case .resample(let r) = self { return r.mode == .down && r.timeConv != nil } else { return false } }
}
