import Foundation
import Media
import Testing

@Suite struct VideoRoundTripTests {
    static let clip = SyntheticClip.make(width: 64, height: 48, frames: 17, fps: 16)
    /// Measured at crf 18: mean 3.3, worst frame 3.6 (chroma subsampling at the shapes' saturated
    /// edges dominates; crf 0 still gives 2.6). A red/blue swap gives 56, a one-frame shift 9.5
    /// (8.1 for the closest pair of frames), so the bound separates right from wrong frame by frame.
    static let errorBound = 4.5

    @Test func mp4RoundTripKeepsFrameCountSizeAndPixels() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("clip.mp4")
        try VideoWriter().write(Self.clip, to: path)

        let decoded = try VideoReader().read(path: path)
        #expect(decoded.frameCount == 17)
        #expect(decoded.width == 64 && decoded.height == 48)
        #expect(abs(decoded.framesPerSecond - 16) < 1e-9)

        let error = SyntheticClip.meanAbsoluteError(decoded, Self.clip)
        #expect(error < Self.errorBound, "mean absolute error \(error)")
        // The bound must be tight enough to catch the usual mistakes.
        let swapped = SyntheticClip.meanAbsoluteError(decoded, SyntheticClip.swappingRedAndBlue(Self.clip))
        let shiftedLater = SyntheticClip.meanAbsoluteError(decoded, Self.clip, aStart: 1, bStart: 0)
        let shiftedEarlier = SyntheticClip.meanAbsoluteError(decoded, Self.clip, aStart: 0, bStart: 1)
        #expect(swapped > 5 * Self.errorBound, "red/blue swap error \(swapped)")
        #expect(shiftedLater > 1.5 * Self.errorBound, "one-frame shift error \(shiftedLater)")
        #expect(shiftedEarlier > 1.5 * Self.errorBound, "one-frame shift error \(shiftedEarlier)")
        // Frame by frame too, so a dropped or duplicated frame in the middle cannot hide in the mean.
        for t in 0..<17 {
            let frameError = SyntheticClip.meanAbsoluteError(decoded, Self.clip, aStart: t, bStart: t, count: 1)
            #expect(frameError < Self.errorBound, "frame \(t): mean absolute error \(frameError)")
            if t > 0 {
                let neighbour = SyntheticClip.meanAbsoluteError(decoded, Self.clip, aStart: t, bStart: t - 1, count: 1)
                #expect(neighbour > Self.errorBound, "frame \(t) against frame \(t - 1): \(neighbour)")
            }
        }
    }

    /// The known mp4 pitfall: packets without durations make the muxer guess the last frame's,
    /// and the container's duration and average rate come out wrong.
    @Test func containerRecordsExactFrameCountAndDuration() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("clip.mp4")
        try VideoWriter(preset: "ultrafast").write(Self.clip, to: path)

        let info = try VideoInfo(path: path)
        #expect(info.codec == "h264")
        #expect(info.size == FrameSize(width: 64, height: 48))
        #expect(info.frameCount == 17)
        #expect(abs(info.duration - 17.0 / 16.0) < 1e-3, "duration \(info.duration)")
        #expect(abs(info.averageFramesPerSecond - 16) < 1e-3, "avg_frame_rate \(info.averageFramesPerSecond)")
        #expect(abs(info.framesPerSecond - 16) < 1e-9)
    }

    @Test func nonIntegerFrameRateRoundTrips() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("ntsc.mp4")
        var clip = SyntheticClip.make(width: 32, height: 16, frames: 5, fps: 30000.0 / 1001.0)
        clip.framesPerSecond = 30000.0 / 1001.0
        try VideoWriter(preset: "ultrafast").write(clip, to: path)
        let decoded = try VideoReader().read(path: path)
        #expect(decoded.frameCount == 5)
        #expect(abs(decoded.framesPerSecond - 30000.0 / 1001.0) < 1e-6, "fps \(decoded.framesPerSecond)")
    }

    @Test func maxFramesStopsEarlyWithTheSameFrames() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("clip.mp4")
        try VideoWriter(preset: "ultrafast").write(Self.clip, to: path)
        let all = try VideoReader().read(path: path)
        let first5 = try VideoReader(maxFrames: 5).read(path: path)
        #expect(first5.frameCount == 5)
        #expect(first5.pixels == Array(all.pixels.prefix(5 * all.bytesPerFrame)))
    }

    @Test(arguments: [ResizeFilter.bicubic, .area])
    func resizeOnRead(filter: ResizeFilter) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("clip.mp4")
        try VideoWriter(preset: "ultrafast").write(Self.clip, to: path)
        let half = try VideoReader(outputSize: FrameSize(width: 32, height: 24), resizeFilter: filter).read(path: path)
        #expect(half.frameCount == 17 && half.width == 32 && half.height == 24)
        // Halving the red ramp keeps it a ramp: left column dark, right column bright.
        let rowStart = 12 * half.width * 3
        #expect(half.pixels[rowStart] < 30)
        #expect(half.pixels[rowStart + (half.width - 1) * 3] > 220)
    }

    @Test func writerRejectsOddDimensionsAndLeavesNoFile() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("odd.mp4")
        let odd = SyntheticClip.make(width: 33, height: 16, frames: 2, fps: 16)
        #expect(throws: MediaError.self) { try VideoWriter().write(odd, to: path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }

    @Test func failedWriteRemovesTemporaryFile() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("bad-preset.mp4")
        do {
            try VideoWriter(preset: "no-such-preset").write(Self.clip, to: path)
            Issue.record("an unknown x264 preset should fail")
        } catch {
            #expect(error.path == path)
            #expect(error.description.contains("avcodec_open2"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }
}

@Suite struct OtherContainerTests {
    /// VP9 in WebM: another encoder, a container without global-header needs, and a 1/1000 time base.
    @Test func webmVP9RoundTripsFrameCount() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("clip.webm")
        let clip = SyntheticClip.make(width: 64, height: 48, frames: 9, fps: 16)
        try VideoWriter(encoder: "libvpx-vp9").write(clip, to: path)
        let decoded = try VideoReader().read(path: path)
        #expect(decoded.frameCount == 9)
        #expect(abs(decoded.framesPerSecond - 16) < 1e-9)
        #expect(SyntheticClip.meanAbsoluteError(decoded, SyntheticClip.swappingRedAndBlue(clip))
            > 2 * SyntheticClip.meanAbsoluteError(decoded, clip))
    }
}
