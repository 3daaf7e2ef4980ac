import Foundation
import Media

/// Test clips with content that makes mistakes visible: a horizontal red ramp, a vertical green
/// ramp, blue that rises 14 levels per frame, and two saturated shapes moving in opposite directions.
/// Swapped channels, a shifted frame or a mirrored image all change many pixels by tens of levels.
enum SyntheticClip {
    static func make(width: Int, height: Int, frames: Int, fps: Double) -> VideoFrames {
        var pixels = [UInt8](repeating: 0, count: width * height * 3 * frames)
        for t in 0..<frames {
            let squareX = 3 + 3 * t, squareY = 6 + t
            let circleX = Double(width - 10 - 2 * t), circleY = Double(height) / 2
            for y in 0..<height {
                for x in 0..<width {
                    var rgb = (
                        UInt8(x * 255 / max(width - 1, 1)),
                        UInt8(y * 235 / max(height - 1, 1)),
                        UInt8(min(30 + 14 * t, 255)))
                    if (squareX..<squareX + 12).contains(x), (squareY..<squareY + 12).contains(y) {
                        rgb = (250, 30, 200)
                    }
                    let dx = Double(x) - circleX, dy = Double(y) - circleY
                    if dx * dx + dy * dy < 36 { rgb = (20, 220, 40) }
                    let i = ((t * height + y) * width + x) * 3
                    pixels[i] = rgb.0
                    pixels[i + 1] = rgb.1
                    pixels[i + 2] = rgb.2
                }
            }
        }
        return VideoFrames(width: width, height: height, frameCount: frames, framesPerSecond: fps, pixels: pixels)
    }

    /// Mean absolute difference over all samples of frames `a[aStart...]` and `b[bStart...]`, `count` frames.
    static func meanAbsoluteError(_ a: VideoFrames, _ b: VideoFrames, aStart: Int = 0, bStart: Int = 0, count: Int? = nil) -> Double {
        precondition(a.width == b.width && a.height == b.height)
        let n = (count ?? min(a.frameCount - aStart, b.frameCount - bStart)) * a.bytesPerFrame
        let aOffset = aStart * a.bytesPerFrame, bOffset = bStart * b.bytesPerFrame
        var total = 0
        for i in 0..<n {
            total += abs(Int(a.pixels[aOffset + i]) - Int(b.pixels[bOffset + i]))
        }
        return Double(total) / Double(n)
    }

    /// The clip with red and blue exchanged (what an RGB/BGR mix-up produces).
    static func swappingRedAndBlue(_ clip: VideoFrames) -> VideoFrames {
        var swapped = clip
        for i in stride(from: 0, to: clip.pixels.count, by: 3) {
            swapped.pixels.swapAt(i, i + 2)
        }
        return swapped
    }
}

/// A fresh directory under the system temp dir, removed by `remove()`.
struct ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vacekit-media-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
