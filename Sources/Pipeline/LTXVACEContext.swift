import Foundation
import Models
import Tensors

/// The VACE-LTX context from a Video Condition Unit (VACE paper §3.3 "concept decoupling"; ali-vilab/VACE
/// `vace/models/ltx/pipelines/pipeline_ltx_video.py`, `VaceLTXVideoPipeline.__call__`):
///
///     inactive = frames·(1 − m)   → LTX VAE (normalised) → [128, F, H', W']     (m the soft mask, not thresholded)
///     reactive = frames·m         → LTX VAE (normalised) → [128, F, H', W']
///     mask     → trilinear (align_corners) to (2F, 8H', 8W') → space-to-depth (2, 8, 8) → [128, F, H', W']
///     video context = inactive | reactive | mask                               [384, F, H', W']
///     reference r   = VAE(ref) | 0 | 0 (encoded as a one-frame video)         [384, 1, H', W']
///     context       = ref_0 … ref_{R−1}, video (in time)                      [384, R + F, H', W']
///
/// Every encode is the posterior mean (the original samples with an unseeded generator).
public enum LTXVACEContext {
    /// Pixel offsets per latent cell folded into the mask channels (VACE `mask_downsample = [2, 8, 8]`).
    static let maskFold = (time: 2, height: 8, width: 8)

    /// `[1, 2·C + 128, R + F, H', W']`.
    public static func build(_ unit: VideoConditionUnit, vae: any VideoAutoencoder, on backend: any Backend) throws -> HostTensor {
        let (f, c) = (vae.spatialFactor, vae.latentChannels)
        let (t, h, w) = (unit.frames.frames, unit.height, unit.width)
        guard (t - 1) % vae.temporalFactor == 0, h % f == 0, w % f == 0 else {
            throw PipelineError.mismatch("VACE-LTX context: \(t) frames of \(w)×\(h); LTX-Video takes 8k + 1 frames and multiples of \(f)")
        }
        let latentFrames = (t - 1) / vae.temporalFactor + 1
        let (lh, lw) = (h / f, w / f)
        var inactive = unit.frames.values, reactive = unit.frames.values
        let plane = t * h * w
        for ch in 0 ..< 3 {
            for i in 0 ..< plane {
                let m = unit.mask.values[i]
                inactive[ch * plane + i] *= 1 - m
                reactive[ch * plane + i] *= m
            }
        }
        func encode(_ values: [Float], frames: Int) throws -> [Float] {
            let z = try vae.encode(try backend.tensor(values, Shape([1, 3, frames, h, w])))
            let expected = [1, c, (frames - 1) / vae.temporalFactor + 1, lh, lw]
            guard z.shape.dims == expected else {
                throw PipelineError.mismatch("the VAE encoded [1, 3, \(frames), \(h), \(w)] to \(z.shape), expected \(expected)")
            }
            return try backend.floats(z)
        }
        let zIn = try encode(inactive, frames: t)
        let zRe = inactive == reactive ? zIn : try encode(reactive, frames: t)  // t2v: both are the zero video
        let folded = foldMask(unit.mask, latentFrames: latentFrames, latentHeight: lh, latentWidth: lw)
        let fold = maskFold.time * maskFold.height * maskFold.width
        let channels = 2 * c + fold
        let latentPlane = lh * lw
        let r = unit.references.count, totalFrames = r + latentFrames
        var out = [Float](repeating: 0, count: channels * totalFrames * latentPlane)
        func put(_ source: [Float], sourceFrames: Int, channelOffset: Int, channelCount: Int, frameOffset: Int) {
            placeFrames(source, sourceFrames: sourceFrames, channelCount: channelCount, into: &out, totalFrames: totalFrames,
                        plane: latentPlane, channelOffset: channelOffset, frameOffset: frameOffset)
        }
        for (index, reference) in unit.references.enumerated() {
            guard reference.width == w, reference.height == h, reference.frames == 1 else {
                throw PipelineError.mismatch("reference \(index + 1) is \(reference.width)×\(reference.height)×\(reference.frames): references are fitted onto the \(w)×\(h) canvas first")
            }
            put(try encode(reference.values, frames: 1), sourceFrames: 1, channelOffset: 0, channelCount: c, frameOffset: index)
        }
        put(zIn, sourceFrames: latentFrames, channelOffset: 0, channelCount: c, frameOffset: r)
        put(zRe, sourceFrames: latentFrames, channelOffset: c, channelCount: c, frameOffset: r)
        put(folded, sourceFrames: latentFrames, channelOffset: 2 * c, channelCount: fold, frameOffset: r)
        return HostTensor(out, [1, channels, totalFrames, lh, lw])
    }

    /// The mask folded onto the latent grid, `[128, F, H', W']`: the `[T, H, W]` mask resized to
    /// `(2F, 8H', 8W')` with torch's trilinear interpolation (align_corners true: source index
    /// `o·(in − 1)/(out − 1)`, f32), then channel `p_t·64 + p_h·8 + p_w` holds resized voxel
    /// `(2f + p_t, 8y + p_h, 8x + p_w)` (VACE: `rearrange "b c (f p1) (h p2) (w p3) -> b (c p1 p2 p3) f h w"`).
    /// The time target is 2F, not T/8: what the original does.
    public static func foldMask(_ mask: PixelMask, latentFrames: Int, latentHeight lh: Int, latentWidth lw: Int) -> [Float] {
        let (pt, ph, pw) = maskFold
        let (outT, outH, outW) = (pt * latentFrames, ph * lh, pw * lw)
        let (t, h, w) = (mask.frames, mask.height, mask.width)
        func taps(_ outSize: Int, _ inSize: Int) -> [(Int, Int, Float)] {
            let scale: Float = outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0
            return (0 ..< outSize).map { o in
                let src = scale * Float(o)
                let i0 = min(Int(src), inSize - 1)
                let i1 = i0 < inSize - 1 ? i0 + 1 : i0
                return (i0, i1, src - Float(i0))
            }
        }
        let ts = taps(outT, t), ys = taps(outH, h), xs = taps(outW, w)
        let v = mask.values
        var out = [Float](repeating: 0, count: pt * ph * pw * latentFrames * lh * lw)
        for (ot, (t0, t1, lt)) in ts.enumerated() {
            for (oy, (y0, y1, ly)) in ys.enumerated() {
                for (ox, (x0, x1, lx)) in xs.enumerated() {
                    func at(_ tt: Int, _ yy: Int, _ xx: Int) -> Float { v[(tt * h + yy) * w + xx] }
                    // torch upsample_trilinear3d's nesting: t0λ·(h0λ·(w0λ·v + w1λ·v) + h1λ·(…)) + t1λ·(…).
                    let (t0l, y0l, x0l) = (1 - lt, 1 - ly, 1 - lx)
                    let front = y0l * (x0l * at(t0, y0, x0) + lx * at(t0, y0, x1)) + ly * (x0l * at(t0, y1, x0) + lx * at(t0, y1, x1))
                    let back = y0l * (x0l * at(t1, y0, x0) + lx * at(t1, y0, x1)) + ly * (x0l * at(t1, y1, x0) + lx * at(t1, y1, x1))
                    let value = t0l * front + lt * back
                    let channel = (ot % pt) * ph * pw + (oy % ph) * pw + (ox % pw)
                    out[((channel * latentFrames + ot / pt) * lh + oy / ph) * lw + ox / pw] = value
                }
            }
        }
        return out
    }
}
