import Foundation
import Media
import Pipeline

/// Reading media as VACE-LTX does (ali-vilab/VACE `vace/models/utils/preprocessor.py`); the sizes and frame
/// choices are `LTXClipPlan`'s.
enum LTXMedia {
    /// Reads `path` with the clip plan: every frame at the cover size (the aspect kept, then a centre crop to
    /// `plan.size`), the planned frames picked. The resize is the reader's (swscale bicubic), not torch's
    /// antialiased bicubic: close, not identical.
    static func read(_ path: String, flag: String, plan: LTXClipPlan, sourceSize: FrameSize) throws -> VideoFrames {
        let size = FrameSize(width: plan.width, height: plan.height)
        let all = try GenerateMedia.read(path, flag: flag, size: coverSize(sourceSize, size), maxFrames: (plan.frameIDs.max() ?? 0) + 1)
        return crop(all, to: size, frames: plan.frameIDs)
    }

    /// A reference: Lanczos to the cover size, centre crop (`VaceImageProcessor._resize_crop`).
    static func readReference(_ path: String) throws -> PixelVideo {
        let probe = try GenerateMedia.probe(path, flag: "--ref")
        guard let fitted = LTXClipPlan.referenceSize(width: probe.size.width, height: probe.size.height) else {
            throw GenerateError("--ref \(path): \(probe.size) is too small (both sides need at least 32 pixels)")
        }
        let size = FrameSize(width: fitted.width, height: fitted.height)
        let image = try VideoReader(maxFrames: 1, outputSize: coverSize(probe.size, size), resizeFilter: .lanczos).read(path: path)
        return GenerateMedia.pixels(crop(image, to: size, frames: [0]))
    }

    /// `(round(s·w), round(s·h))` with s = max(W/w, H/h).
    static func coverSize(_ source: FrameSize, _ target: FrameSize) -> FrameSize {
        if source == target { return target }
        let scale = max(Double(target.width) / Double(source.width), Double(target.height) / Double(source.height))
        return FrameSize(width: max(target.width, Int((scale * Double(source.width)).rounded(.toNearestOrEven))),
                         height: max(target.height, Int((scale * Double(source.height)).rounded(.toNearestOrEven))))
    }

    static func crop(_ frames: VideoFrames, to size: FrameSize, frames ids: [Int]) -> VideoFrames {
        let (x0, y0) = ((frames.width - size.width) / 2, (frames.height - size.height) / 2)
        var pixels: [UInt8] = []
        pixels.reserveCapacity(ids.count * size.width * size.height * 3)
        for id in ids {
            let frame = min(id, frames.frameCount - 1)
            for y in 0 ..< size.height {
                let start = ((frame * frames.height + y0 + y) * frames.width + x0) * 3
                pixels += frames.pixels[start ..< start + size.width * 3]
            }
        }
        return VideoFrames(width: size.width, height: size.height, frameCount: ids.count, framesPerSecond: frames.framesPerSecond, pixels: pixels)
    }

    /// A VACE-LTX mask: channel 0 mapped to [0, 1]; every pixel of every channel above mid-grey means
    /// "regenerate everything" (ltx_vace.py `LTXVace.generate`: `torch.all(src_mask > 0)` on the [−1, 1] video).
    static func mask(_ frames: VideoFrames) -> PixelMask {
        if frames.pixels.allSatisfy({ Float($0) / 127.5 - 1 > 0 }) {
            return PixelMask(width: frames.width, height: frames.height, frames: frames.frameCount,
                             values: [Float](repeating: 1, count: frames.frameCount * frames.height * frames.width))
        }
        return GenerateMedia.mask(frames)
    }
}
