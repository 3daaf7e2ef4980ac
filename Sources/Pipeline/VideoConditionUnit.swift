import Foundation

/// The Video Condition Unit of VACE (Jiang et al. 2025, §3.2): frames, a mask and reference images,
/// the one input format of every task. Built by `TaskBuilder`, turned into the transformer's
/// 96-channel context by `VACEContext`.
public struct VideoConditionUnit: Sendable, Equatable {
    /// `[3, T, H, W]` in [−1, 1]; pixels under the mask are taken as given (Wan2.1 `WanVace.generate`).
    public var frames: PixelVideo
    /// `[T, H, W]` in [0, 1], 1 = generate.
    public var mask: PixelMask
    /// Reference images already fitted onto the output size (one frame each), in the given order.
    public var references: [PixelVideo]

    public init(frames: PixelVideo, mask: PixelMask, references: [PixelVideo] = []) {
        self.frames = frames
        self.mask = mask
        self.references = references
    }

    public var width: Int { frames.width }
    public var height: Int { frames.height }
}

/// The tasks of `vacekit generate --task`.
public enum VACETask: String, CaseIterable, Sendable {
    case t2v, r2v, v2v, inpaint, outpaint, extend
}

/// `--extend`: which given frames are kept, as the FrameRefExpandAnnotator of ali-vilab/VACE
/// (`vace/annotators/frameref.py`) builds them: firstframe, lastframe, firstlastframe, firstclip.
public enum ExtendMode: String, CaseIterable, Sendable {
    case first, last, both, clip
}

/// `--outpaint LEFT,RIGHT,TOP,BOTTOM`: how much canvas to add on each side, as fractions of the source size.
public struct OutpaintMargins: Sendable, Equatable {
    public var left, right, top, bottom: Double
    public init(left: Double, right: Double, top: Double, bottom: Double) {
        (self.left, self.right, self.top, self.bottom) = (left, right, top, bottom)
    }

    /// Parses "L,R,T,B".
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, parts.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw PipelineError.invalidOption(flag: "--outpaint", reason: "expected four fractions LEFT,RIGHT,TOP,BOTTOM (≥ 0), got '\(text)'")
        }
        self.init(left: parts[0]!, right: parts[1]!, top: parts[2]!, bottom: parts[3]!)
    }
}

/// The inputs of a task as the command line gathered them (already decoded and brought to the grid).
public struct TaskInputs: Sendable {
    /// The output size and frame count (used where no video fixes them: t2v, r2v, extend).
    public var width, height, frames: Int
    public var video: PixelVideo?
    public var mask: PixelMask?
    /// Reference images as given (any size, one frame each), at most 3.
    public var references: [PixelVideo]
    public var outpaint: OutpaintMargins?
    public var extend: ExtendMode?

    public init(width: Int, height: Int, frames: Int, video: PixelVideo? = nil, mask: PixelMask? = nil,
                references: [PixelVideo] = [], outpaint: OutpaintMargins? = nil, extend: ExtendMode? = nil) {
        (self.width, self.height, self.frames) = (width, height, frames)
        (self.video, self.mask, self.references, self.outpaint, self.extend) = (video, mask, references, outpaint, extend)
    }
}
