import Foundation
import Tensors

/// What one encode or decode call carries through the blocks: the stream state, the batch size, and
/// for timestep-conditioned decoders the scaled timestep and the injected noise maps.
final class LTXVAERun {
    let backend: any Backend
    let state = StreamState()
    let batch: Int
    /// `decode_timestep · timestep_scale_multiplier`, in f32 (nil: unconditioned).
    let scaledTimestep: Float?
    /// `decoder_noise.<path>` maps as `[1, 1, 1, H, W]`, by the per_channel_scale tensor's canonical name.
    let noise: [String: Tensor]
    /// Per-call constants (modulation rows, scaled noise terms) computed on first use.
    var cache: [String: [Tensor]] = [:]
    let tap: Tap?

    init(backend: any Backend, batch: Int, scaledTimestep: Float? = nil, noise: [String: Tensor] = [:], tap: Tap?) {
        self.backend = backend
        self.batch = batch
        self.scaledTimestep = scaledTimestep
        self.noise = noise
        self.tap = tap
    }

    func cached(_ key: String, _ make: () throws -> [Tensor]) rethrows -> [Tensor] {
        if let hit = cache[key] { return hit }
        let value = try make()
        cache[key] = value
        return value
    }
}

/// The sinusoid of diffusers' `Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)` inside
/// `PixArtAlphaCombinedTimestepSizeEmbeddings`, computed as PyTorch does it in f32 (the angle is an f32
/// product), so that a timestep near 50 keeps its f32 rounding.
enum LTXTimestep {
    static func sinusoid(_ t: Float, dim: Int = 256) -> [Float] {
        let half = dim / 2
        var out = [Float](repeating: 0, count: dim)
        let logPeriod = Float(log(10000.0))
        for k in 0 ..< half {
            let exponent = -logPeriod * Float(k) / Float(half)
            let angle = t * Float(exp(Double(exponent)))
            out[k] = Float(cos(Double(angle)))
            out[half + k] = Float(sin(Double(angle)))
        }
        return out
    }
}

/// `PixArtAlphaCombinedTimestepSizeEmbeddings(dim, 0)`: sinusoid 256 → Linear → SiLU → Linear.
struct LTXTimeEmbedder {
    let linear1, bias1, linear2, bias2: Tensor

    init(_ prefix: String, _ weights: any WeightProvider, _ b: any Backend) throws {
        let p = prefix + ".timestep_embedder."
        (linear1, bias1) = (try weights.load(p + "linear_1.weight", on: b), try weights.load(p + "linear_1.bias", on: b))
        (linear2, bias2) = (try weights.load(p + "linear_2.weight", on: b), try weights.load(p + "linear_2.bias", on: b))
    }

    /// `[B, dim]` for one scaled timestep shared by the batch.
    func callAsFunction(_ t: Float, batch: Int, on b: any Backend) throws -> Tensor {
        let s = LTXTimestep.sinusoid(t)
        let x = try b.tensor(Array([[Float]](repeating: s, count: batch).joined()), [batch, s.count])
        return try b.linear(try b.unary(.silu, try b.linear(x, linear1, bias: bias1)), linear2, bias: bias2)
    }
}

/// `ResnetBlock3D` (LTX-Video causal_video_autoencoder.py): PixelNorm → [shift/scale 1] → SiLU → conv1 →
/// [noise 1] → PixelNorm → [shift/scale 2] → SiLU → conv2 → [noise 2], plus the shortcut (LayerNorm over
/// channels then a 1×1×1 conv when the width changes). The shortcut is ready before the main branch
/// (its convs lag by their look-ahead), so it waits in a queue.
struct LTXResBlock {
    let name: String
    let conv1, conv2: LTXConv
    let shortcut: LTXConv?
    let norm3: (weight: Tensor, bias: Tensor)?
    /// `[4, C]` rows shift1, scale1, shift2, scale2 (timestep-conditioned blocks).
    let table: Tensor?
    /// Canonical names of `per_channel_scale1/2` `[C, 1, 1]` when the block injects noise.
    let noiseNames: [String]
    let noiseScales: [Tensor]

    init(_ name: String, _ weights: any WeightProvider, _ b: any Backend, causal: Bool, timestep: Bool) throws {
        self.name = name
        conv1 = try LTXConv(name + ".conv1.conv", weights, b, causal: causal)
        conv2 = try LTXConv(name + ".conv2.conv", weights, b, causal: causal)
        if weights.contains(name + ".conv_shortcut.weight") {
            shortcut = try LTXConv(name + ".conv_shortcut", weights, b, causal: causal)
            norm3 = (try weights.load(name + ".norm3.norm.weight", on: b), try weights.load(name + ".norm3.norm.bias", on: b))
        } else {
            (shortcut, norm3) = (nil, nil)
        }
        table = timestep ? try weights.load(name + ".scale_shift_table", on: b) : nil
        let names = [name + ".per_channel_scale1", name + ".per_channel_scale2"]
        noiseNames = weights.contains(names[0]) ? names : []
        noiseScales = try noiseNames.map { try weights.load($0, on: b) }
    }

    /// x `[B, C, T, H, W]` (a chunk) → the frames the block completes `[B, C', T', H, W]`.
    /// - temb: the stack's time embedding `[B, 4C]` for timestep-conditioned blocks.
    func callAsFunction(_ x: Tensor?, last: Bool, temb: Tensor?, _ run: LTXVAERun) throws -> Tensor? {
        let b = run.backend
        let rows: [Tensor]? = try table.map { table in
            try run.cached(name + ".ada") {
                let c = table.shape[1]
                let ada = try b.binary(.add, try b.reshape(temb!, [run.batch, 4, c]), table)          // [B, 4, C]
                return try (0 ..< 4).map { try b.reshape(try b.slice(ada, axis: 1, $0 ..< $0 + 1), [run.batch, c, 1, 1, 1]) }
            }
        }
        var h = try x.map { x in
            var h = try b.channelNorm(.pixel, x, weight: nil, bias: nil, eps: 1e-8)
            if let rows { h = try b.modulate(h, scale: rows[1], shift: rows[0]) }
            return try b.unary(.silu, h)
        }
        h = try conv1(h, last: last, run.state, on: b)
        h = try h.map { h in
            var h = try addNoise(h, 0, run)
            h = try b.channelNorm(.pixel, h, weight: nil, bias: nil, eps: 1e-8)
            if let rows { h = try b.modulate(h, scale: rows[3], shift: rows[2]) }
            return try b.unary(.silu, h)
        }
        h = try conv2(h, last: last, run.state, on: b)
        h = try h.map { try addNoise($0, 1, run) }
        let skip = try x.map { x -> Tensor in
            guard let shortcut, let norm3 else { return x }
            let channelsLast = try b.permute(x, [0, 2, 3, 4, 1])                                       // [B, T, H, W, C]
            let normed = try b.permute(try b.layerNorm(channelsLast, weight: norm3.weight, bias: norm3.bias, eps: 1e-6), [0, 4, 1, 2, 3])
            return try shortcut(normed, last: last, run.state, on: b)!
        }
        let residual = try Frames.queue(name + ".skip", push: skip, pop: Frames.count(h), state: run.state, on: b)
        guard let h, let residual else { return nil }
        return try b.binary(.add, h, residual)
    }

    /// `hidden + per_channel_scale · z[H, W]` (`_feed_spatial_noise`): one map per call, shared by batch,
    /// channels and frames.
    private func addNoise(_ h: Tensor, _ i: Int, _ run: LTXVAERun) throws -> Tensor {
        guard !noiseNames.isEmpty else { return h }
        let b = run.backend
        let term = try run.cached(noiseNames[i]) {
            let scale = noiseScales[i]
            guard let map = run.noise[noiseNames[i]] else { throw TensorError("LTXVAE", "no noise map for \(noiseNames[i])") }
            return [try b.binary(.mul, try b.reshape(scale, [1, scale.shape[0], 1, 1, 1]), map)]      // [1, C, 1, H, W]
        }[0]
        return try b.binary(.add, h, term)
    }
}

/// `res_x` (`UNetMidBlock3D`): n residual blocks of one width; with timestep conditioning it owns the
/// time embedder whose `[B, 4C]` output every block adds to its own table.
struct LTXResStack {
    let name: String
    let blocks: [LTXResBlock]
    let timeEmbedder: LTXTimeEmbedder?

    init(_ name: String, layers: Int, _ weights: any WeightProvider, _ b: any Backend, causal: Bool, timestep: Bool) throws {
        self.name = name
        blocks = try (0 ..< layers).map { try LTXResBlock("\(name).res_blocks.\($0)", weights, b, causal: causal, timestep: timestep) }
        timeEmbedder = timestep ? try LTXTimeEmbedder(name + ".time_embedder", weights, b) : nil
    }

    func callAsFunction(_ x: Tensor?, last: Bool, _ run: LTXVAERun) throws -> Tensor? {
        let temb = try timeEmbedder.map { embedder in
            try run.cached(name + ".temb") {
                guard let t = run.scaledTimestep else { throw TensorError("LTXVAE", "\(name) needs a timestep") }
                return [try embedder(t, batch: run.batch, on: run.backend)]
            }[0]
        }
        var h = x
        for block in blocks { h = try block(h, last: last, temb: temb, run) }
        return h
    }
}

/// Space ↔ depth in `[B, C, T, H, W]`, with the channel index c·(st·sh·sw) + pt·(sh·sw) + ph·sw + pw
/// (LTX-Video `DepthToSpaceUpsample` / `SpaceToDepthDownsample`: "b (c p1 p2 p3) d h w").
enum LTXDepth {
    static func toSpace(_ x: Tensor, _ s: (Int, Int, Int), on b: any Backend) throws -> Tensor {
        let (n, c, t, h, w) = (x.shape[0], x.shape[1] / (s.0 * s.1 * s.2), x.shape[2], x.shape[3], x.shape[4])
        let split = try b.reshape(x, [n, c, s.0, s.1, s.2, t, h, w])
        let ordered = try b.permute(split, [0, 1, 5, 2, 6, 3, 7, 4])                                     // B C T pt H ph W pw
        return try b.reshape(ordered, [n, c, t * s.0, h * s.1, w * s.2])
    }

    static func toDepth(_ x: Tensor, _ s: (Int, Int, Int), on b: any Backend) throws -> Tensor {
        let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2] / s.0, x.shape[3] / s.1, x.shape[4] / s.2)
        let split = try b.reshape(x, [n, c, t, s.0, h, s.1, w, s.2])
        let ordered = try b.permute(split, [0, 1, 3, 5, 7, 2, 4, 6])                                     // B C pt ph pw T H W
        return try b.reshape(ordered, [n, c * s.0 * s.1 * s.2, t, h, w])
    }
}

/// Decoder `DepthToSpaceUpsample`: conv C → s·C/m, depth-to-space, the first frame dropped when time is
/// upsampled; with `residual` the input itself, depth-to-spaced and tiled s/m times along channels, is
/// added (LTX-Video 0.9.1).
struct LTXUpsample {
    let name: String
    let conv: LTXConv
    let stride: (Int, Int, Int)
    let residual: Bool
    let multiplier: Int

    func callAsFunction(_ x: Tensor?, last: Bool, _ run: LTXVAERun) throws -> Tensor? {
        let b = run.backend, dropsFrame = stride.0 == 2
        var h = try conv(x, last: last, run.state, on: b).map { try LTXDepth.toSpace($0, stride, on: b) }
        if dropsFrame { h = try Frames.dropFirst(name + ".main", h, state: run.state, on: b) }
        guard residual else { return h }
        var skip = try x.map { x -> Tensor in
            let d = try LTXDepth.toSpace(x, stride, on: b)
            let repeats = stride.0 * stride.1 * stride.2 / multiplier
            return repeats == 1 ? d : try b.concat(Array(repeating: d, count: repeats), axis: 1)
        }
        if dropsFrame { skip = try Frames.dropFirst(name + ".skip", skip, state: run.state, on: b) }
        let aligned = try Frames.queue(name + ".skip", push: skip, pop: Frames.count(h), state: run.state, on: b)
        guard let h, let aligned else { return nil }
        return try b.binary(.add, h, aligned)
    }
}

/// Encoder `SpaceToDepthDownsample` (LTX-Video 0.9.5, diffusers `LTXVideoDownsampler3d`): frame 0 repeated
/// once in front when time is downsampled, then conv C → C'/s followed by space-to-depth, plus the input
/// space-to-depthed and averaged over groups of s·C/C' channels.
struct LTXResidualDownsample {
    let name: String
    let conv: LTXConv
    let stride: (Int, Int, Int)
    let outChannels: Int

    func callAsFunction(_ x: Tensor?, last: Bool, _ run: LTXVAERun) throws -> Tensor? {
        let b = run.backend
        var x = x
        if stride.0 > 1, let first = x, !run.state.started.contains(name + ".front") {
            run.state.started.insert(name + ".front")
            x = try b.pad(first, axis: 2, before: stride.0 - 1, after: 0, mode: .replicate)
        }
        let s = stride.0 * stride.1 * stride.2, group = conv.inChannels * s / outChannels
        let skip = try Frames.groups(name + ".skip", x, size: stride.0, state: run.state, on: b).map { x -> Tensor in
            let d = try LTXDepth.toDepth(x, stride, on: b)                                           // [B, C·s, T', H', W']
            let shape = d.shape
            let grouped = try b.reshape(d, [shape[0], outChannels, group, shape[2] * shape[3] * shape[4]])
            return try b.reshape(try b.mean(grouped, axis: 2), [shape[0], outChannels, shape[2], shape[3], shape[4]])
        }
        let h = try Frames.groups(name + ".main", try conv(x, last: last, run.state, on: b), size: stride.0, state: run.state, on: b)
            .map { try LTXDepth.toDepth($0, stride, on: b) }
        let aligned = try Frames.queue(name + ".skipq", push: skip, pop: Frames.count(h), state: run.state, on: b)
        guard let h, let aligned else { return nil }
        return try b.binary(.add, h, aligned)
    }
}
