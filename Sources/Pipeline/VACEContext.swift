import Models
import Tensors

/// A host tensor: flat f32 values and their shape (inputs read from files, outputs written to files).
public struct HostTensor: Sendable, Equatable {
    public var values: [Float]
    public var shape: [Int]
    public init(_ values: [Float], _ shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "HostTensor: \(values.count) values for \(shape)")
        (self.values, self.shape) = (values, shape)
    }
}

/// The transformer's context from a Video Condition Unit (VACE paper §3.3 "concept decoupling";
/// Wan2.1 `WanVace.vace_encode_frames` / `vace_encode_masks` / `vace_latent`):
///
///     Mb = mask > 0.5
///     inactive = frames·(1 − Mb)  → VAE → z_in   [16, T', H', W']
///     reactive = frames·Mb        → VAE → z_re   [16, T', H', W']
///     mask (raw, soft) folded 8×8 → channels     [64, T', H', W']
///     video context = z_in | z_re | mask                             [96, T', H', W']
///     reference r   = VAE(ref) | 0 | 0                               [96, 1, H', W']
///     context       = ref_0 … ref_{R−1}, video (in time)             [96, R + T', H', W']
public enum VACEContext {
    /// `[1, 96, R + T', H', W']`.
    public static func build(_ unit: VideoConditionUnit, vae: any VideoAutoencoder, on backend: any Backend) throws -> HostTensor {
        let (f, c) = (vae.spatialFactor, vae.latentChannels)
        let (t, h, w) = (unit.frames.frames, unit.height, unit.width)
        let latentFrames = (t - 1) / vae.temporalFactor + 1
        let (lh, lw) = (h / f, w / f)
        let plane = t * h * w
        // `values` is a temporary of the caller's: let go once the backend holds its copy, not after the encode.
        func encode(_ values: consuming [Float], frames: Int) throws -> [Float] {
            let video = try backend.tensor(values, [1, 3, frames, h, w])
            _ = consume values
            let z = try vae.encode(video)
            guard z.shape.dims == [1, c, (frames - 1) / vae.temporalFactor + 1, lh, lw] else {
                throw PipelineError.mismatch("the VAE encoded [1, 3, \(frames), \(h), \(w)] to \(z.shape), expected [1, \(c), \((frames - 1) / vae.temporalFactor + 1), \(lh), \(lw)]")
            }
            return try backend.floats(z)
        }
        // The frames where the binarised mask is (reactive) or is not (inactive) set, zero elsewhere: made one at a
        // time and let go once the backend holds its copy (at 81 frames of 480×832 each is 388 MB).
        func masked(reactive: Bool) -> [Float] {
            var out = unit.frames.values
            for ch in 0 ..< 3 {
                for i in 0 ..< plane where (unit.mask.values[i] > 0.5) != reactive { out[ch * plane + i] = 0 }
            }
            return out
        }
        let zIn = try encode(masked(reactive: false), frames: t)
        // t2v/r2v: both halves are the same all-zero video (their supports are disjoint: equal only when zero),
        // so one VAE pass suffices.
        let zRe = unit.frames.values.allSatisfy({ $0 == 0 }) ? zIn : try encode(masked(reactive: true), frames: t)
        let folded = foldMask(unit.mask, latentFrames: latentFrames, factor: f)

        let channels = 2 * c + f * f
        let latentPlane = lh * lw
        let totalFrames = unit.references.count + latentFrames
        var out = [Float](repeating: 0, count: channels * totalFrames * latentPlane)
        // out[ch, frame, :, :]
        func put(_ source: [Float], sourceFrames: Int, channelOffset: Int, channelCount: Int, frameOffset: Int) {
            placeFrames(source, sourceFrames: sourceFrames, channelCount: channelCount, into: &out, totalFrames: totalFrames,
                        plane: latentPlane, channelOffset: channelOffset, frameOffset: frameOffset)
        }
        for (r, reference) in unit.references.enumerated() {
            precondition(reference.width == w && reference.height == h, "references are fitted to the output size")
            put(try encode(reference.values, frames: 1), sourceFrames: 1, channelOffset: 0, channelCount: c, frameOffset: r)
        }
        let r = unit.references.count
        put(zIn, sourceFrames: latentFrames, channelOffset: 0, channelCount: c, frameOffset: r)
        put(zRe, sourceFrames: latentFrames, channelOffset: c, channelCount: c, frameOffset: r)
        put(folded, sourceFrames: latentFrames, channelOffset: 2 * c, channelCount: f * f, frameOffset: r)
        return HostTensor(out, [1, channels, totalFrames, lh, lw])
    }

    /// The mask on the latent grid, `[f², T', H/f, W/f]`: channel `ph·f + pw` holds pixel
    /// `(f·y + ph, f·x + pw)` (Wan2.1 `vace_encode_masks`: view + permute), and latent frame j reads
    /// pixel frame `min(floor((j + 0.5)·T/T'), T − 1)` (`F.interpolate(mode='nearest-exact')`, f32).
    public static func foldMask(_ mask: PixelMask, latentFrames: Int, factor f: Int) -> [Float] {
        let (t, h, w) = (mask.frames, mask.height, mask.width)
        let (lh, lw) = (h / f, w / f)
        let scale = Float(t) / Float(latentFrames)
        var out = [Float](repeating: 0, count: f * f * latentFrames * lh * lw)
        for j in 0 ..< latentFrames {
            let source = min(Int(((Float(j) + 0.5) * scale).rounded(.down)), t - 1)
            for ph in 0 ..< f {
                for pw in 0 ..< f {
                    let ch = ph * f + pw
                    for y in 0 ..< lh {
                        for x in 0 ..< lw {
                            out[((ch * latentFrames + j) * lh + y) * lw + x] = mask.values[(source * h + f * y + ph) * w + f * x + pw]
                        }
                    }
                }
            }
        }
        return out
    }
}
