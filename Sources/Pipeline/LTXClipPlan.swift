import Foundation

/// How VACE-LTX brings a source clip to the grid (ali-vilab/VACE `vace/models/utils/preprocessor.py`,
/// `VaceVideoProcessor._get_frameid_bbox_adjust_last`, with the settings of `vace/models/ltx/ltx_vace.py`:
/// downsample (8, 32, 32), area 512×768, 4992 latent tokens, `keep_last`).
public struct LTXClipPlan: Equatable, Sendable {
    public var width, height: Int
    /// The source frames used, in order (resampled uniformly over the clip's whole duration).
    public var frameIDs: [Int]
    /// The RoPE frame rate: frames over the clip's duration, which ends at the last frame's midpoint
    /// (9 frames at 25 fps: 9 / (8.5 / 25) = 26.47).
    public var ropeRate: Double

    /// The plan for a clip of `frames` frames of `width`×`height` at `fps`: the latent area is the clip's
    /// own (in 32-pixel cells) capped at 512×768 (a cap: smaller clips are not upscaled) and at 4992 tokens
    /// over all latent frames; the side ratio is kept; frames 8k + 1.
    public init(width w: Int, height h: Int, frames n: Int, fps: Double) {
        let (df, ds, tokens) = (8, 32, 4992)
        let areaZ = min(Double(tokens), Double(512 * 768) / Double(ds * ds), Double((h / ds) * (w / ds)))
        var latentFrames = max(1, min((n - 1) / df + 1, Int(Double(tokens) / max(areaZ, 1))))
        let targetArea = min(areaZ, Double(Int(Double(tokens) / Double(latentFrames))))
        let ratio = Double(h) / Double(w)
        let lh = max(1, Int((targetArea * ratio).squareRoot().rounded(.toNearestOrEven)))  // Python round()
        let lw = max(1, Int(targetArea / Double(lh)))
        latentFrames = (latentFrames - 1) * df + 1
        // decord's timestamps: frame i spans [i/fps, (i+1)/fps]; the duration is the last one's midpoint.
        let duration = (Double(n) - 0.5) / fps
        frameIDs = (0 ..< latentFrames).map { k in
            let t = latentFrames == 1 ? 0 : duration * Double(k) / Double(latentFrames - 1)
            // numpy argmax over (t >= start_i) & (t <= end_i): the first such frame.
            return (0 ..< n).first { t >= Double($0) / fps && t <= Double($0 + 1) / fps } ?? 0
        }
        (width, height, ropeRate) = (lw * ds, lh * ds, Double(latentFrames) / duration)
    }

    /// A reference image's size (`VaceImageProcessor.load_image_batch`, 384 latent tokens): scaled down to at
    /// most 384 tokens, sides floored to multiples of 32; nil when a side would be 0.
    public static func referenceSize(width w: Int, height h: Int) -> (width: Int, height: Int)? {
        let scale = min(1, (384 / (Double(h) / 32 * Double(w) / 32)).squareRoot())
        let (oh, ow) = (Int(Double(h) * scale) / 32 * 32, Int(Double(w) * scale) / 32 * 32)
        return oh > 0 && ow > 0 ? (ow, oh) : nil
    }
}
