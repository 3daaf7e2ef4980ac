/// Frames as the pipeline works with them: RGB in [−1, 1], channel-major `[3, F, H, W]` (the VAE's
/// input layout). The command line converts files to this and back; the pipeline never sees a file.
public struct PixelVideo: Sendable, Equatable {
    public var width, height, frames: Int
    /// `values[((c·F + t)·H + y)·W + x]`.
    public var values: [Float]

    public init(width: Int, height: Int, frames: Int, values: [Float]) {
        precondition(values.count == 3 * frames * height * width, "PixelVideo: \(values.count) values for 3×\(frames)×\(height)×\(width)")
        (self.width, self.height, self.frames, self.values) = (width, height, frames, values)
    }

    /// A clip of one constant value (0 is mid-grey, 1 white).
    public init(width: Int, height: Int, frames: Int, constant: Float) {
        self.init(width: width, height: height, frames: frames, values: [Float](repeating: constant, count: 3 * frames * height * width))
    }

    /// Frames `range` of the clip.
    public func frames(_ range: Range<Int>) -> PixelVideo {
        var out: [Float] = []
        out.reserveCapacity(3 * range.count * height * width)
        let plane = height * width
        for c in 0 ..< 3 { out += values[(c * frames + range.lowerBound) * plane ..< (c * frames + range.upperBound) * plane] }
        return PixelVideo(width: width, height: height, frames: range.count, values: out)
    }

    /// The clips joined in time (all of this size).
    public static func concatenated(_ clips: [PixelVideo]) -> PixelVideo {
        let (w, h) = (clips[0].width, clips[0].height)
        let total = clips.reduce(0) { $0 + $1.frames }
        var out: [Float] = []
        out.reserveCapacity(3 * total * h * w)
        for c in 0 ..< 3 {
            for clip in clips {
                precondition(clip.width == w && clip.height == h, "PixelVideo.concatenated: sizes differ")
                let plane = clip.frames * h * w
                out += clip.values[c * plane ..< (c + 1) * plane]
            }
        }
        return PixelVideo(width: w, height: h, frames: total, values: out)
    }
}

/// A mask in [0, 1] (1 = generate, 0 = keep), `[F, H, W]`.
public struct PixelMask: Sendable, Equatable {
    public var width, height, frames: Int
    public var values: [Float]

    public init(width: Int, height: Int, frames: Int, values: [Float]) {
        precondition(values.count == frames * height * width, "PixelMask: \(values.count) values for \(frames)×\(height)×\(width)")
        (self.width, self.height, self.frames, self.values) = (width, height, frames, values)
    }

    public init(width: Int, height: Int, frames: Int, constant: Float) {
        self.init(width: width, height: height, frames: frames, values: [Float](repeating: constant, count: frames * height * width))
    }

    public static func concatenated(_ masks: [PixelMask]) -> PixelMask {
        PixelMask(width: masks[0].width, height: masks[0].height, frames: masks.reduce(0) { $0 + $1.frames },
                  values: masks.flatMap(\.values))
    }
}
