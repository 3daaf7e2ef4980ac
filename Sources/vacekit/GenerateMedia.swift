import Foundation
import Media
import Pipeline

/// Files to pipeline frames and back: videos (mp4/mov/webm/gif), images and image sequences (a
/// directory of PNG/JPEG, sorted by name). Frames are brought to the model's grid with a message saying
/// what was changed.
enum GenerateMedia {
    static let imageExtensions: Set = ["png", "jpg", "jpeg", "webp", "bmp"]

    /// The native size, frame count and rate of a file or image directory.
    static func probe(_ path: String, flag: String) throws -> (size: FrameSize, frames: Int, fps: Double) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw GenerateError("\(flag) \(path): no such file or directory")
        }
        if isDirectory.boolValue {
            let files = try sequence(path, flag: flag)
            let first = try VideoReader(maxFrames: 1).read(path: files[0])
            return (FrameSize(width: first.width, height: first.height), files.count, 0)
        }
        guard FileManager.default.isReadableFile(atPath: path) else { throw GenerateError("\(flag) \(path): not readable") }
        let info = try VideoInfo(path: path)
        return (info.size, max(info.frameCount, 1), info.framesPerSecond)
    }

    static func sequence(_ directory: String, flag: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !names.isEmpty else { throw GenerateError("\(flag) \(directory): a directory without PNG/JPEG images") }
        return names.map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Decodes up to `maxFrames` frames resized to `size` (nil: native size).
    static func read(_ path: String, flag: String, size: FrameSize?, maxFrames: Int?) throws -> VideoFrames {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let reader = VideoReader(maxFrames: maxFrames, outputSize: size)
        guard isDirectory.boolValue else { return try reader.read(path: path) }
        var files = try sequence(path, flag: flag)
        if let maxFrames { files = Array(files.prefix(maxFrames)) }
        var frames: VideoFrames?
        for file in files {
            let image = try VideoReader(maxFrames: 1, outputSize: size ?? frames.map { FrameSize(width: $0.width, height: $0.height) }).read(path: file)
            if frames == nil { frames = image } else {
                frames!.pixels += image.pixels
                frames!.frameCount += 1
            }
        }
        frames!.framesPerSecond = 0
        return frames!
    }

    /// 8-bit RGB → `[3, T, H, W]` in [−1, 1] (`x/127.5 − 1`, as the Wan VACE processor).
    static func pixels(_ frames: VideoFrames) -> PixelVideo {
        let (w, h, t) = (frames.width, frames.height, frames.frameCount)
        var values = [Float](repeating: 0, count: 3 * t * h * w)
        let plane = t * h * w
        frames.pixels.withUnsafeBufferPointer { p in
            for i in 0 ..< plane {
                for c in 0 ..< 3 { values[c * plane + i] = Float(p[i * 3 + c]) / 127.5 - 1 }
            }
        }
        return PixelVideo(width: w, height: h, frames: t, values: values)
    }

    /// A mask from the first channel: `clamp((x/127.5 − 1 + 1)/2, 0, 1)` (white = 1 = regenerate).
    static func mask(_ frames: VideoFrames) -> PixelMask {
        let plane = frames.frameCount * frames.height * frames.width
        var values = [Float](repeating: 0, count: plane)
        for i in 0 ..< plane { values[i] = min(max((Float(frames.pixels[i * 3]) / 127.5 - 1 + 1) / 2, 0), 1) }
        return PixelMask(width: frames.width, height: frames.height, frames: frames.frameCount, values: values)
    }

    /// `[3, T, H, W]` in [−1, 1] → 8 bits as the original writer: `clamp((v + 1)/2, 0, 1)·255` truncated.
    static func frames(_ video: PixelVideo, fps: Double) -> VideoFrames {
        let plane = video.frames * video.height * video.width
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for i in 0 ..< plane {
            for c in 0 ..< 3 { pixels[i * 3 + c] = UInt8(min(max((video.values[c * plane + i] + 1) / 2, 0), 1) * 255) }
        }
        return VideoFrames(width: video.width, height: video.height, frameCount: video.frames, framesPerSecond: fps, pixels: pixels)
    }
}

struct GenerateError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
