import Foundation
import Media
import Testing

@Suite struct ImageTests {
    @Test func pngRoundTripIsExactAndOneFrame() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("frame.png")
        let clip = SyntheticClip.make(width: 33, height: 21, frames: 3, fps: 16)  // odd sizes are fine for PNG
        try ImageWriter.writePNG(clip, frame: 2, to: path)

        let image = try VideoReader().read(path: path)
        #expect(image.frameCount == 1)
        #expect(image.width == 33 && image.height == 21)
        #expect(image.pixels == Array(clip.pixels[(2 * clip.bytesPerFrame)..<(3 * clip.bytesPerFrame)]))
        #expect(try VideoInfo(path: path).codec == "png")
    }

    /// JPEG decodes to the deprecated full-range yuvj420p; a range mix-up shifts every level by ~10%.
    @Test func jpegRoundTripIsCloseAndOneFrame() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("frame.jpg")
        let clip = SyntheticClip.make(width: 64, height: 48, frames: 1, fps: 1)
        try ImageWriter.writeJPEG(clip, to: path)

        let image = try VideoReader().read(path: path)
        #expect(image.frameCount == 1 && image.width == 64 && image.height == 48)
        #expect(try VideoInfo(path: path).codec == "mjpeg")
        let error = SyntheticClip.meanAbsoluteError(image, clip)
        #expect(error < 4.5, "mean absolute error \(error)")
        #expect(SyntheticClip.meanAbsoluteError(image, SyntheticClip.swappingRedAndBlue(clip)) > 20)
    }

    @Test func pngResizeOnRead() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("frame.png")
        try ImageWriter.writePNG(SyntheticClip.make(width: 64, height: 48, frames: 1, fps: 1), to: path)
        let small = try VideoReader(outputSize: FrameSize(width: 16, height: 12), resizeFilter: .area).read(path: path)
        #expect(small.frameCount == 1 && small.width == 16 && small.height == 12)
    }

    @Test func pngRejectsAFrameOutsideTheClip() throws {
        let clip = SyntheticClip.make(width: 8, height: 8, frames: 1, fps: 1)
        #expect(throws: MediaError.self) { try ImageWriter.writePNG(clip, frame: 1, to: "/tmp/never-written.png") }
    }
}
