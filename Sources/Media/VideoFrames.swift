/// A clip of 8-bit RGB frames in memory, frame-major: `pixels[((t * height) + y) * width * 3 + x * 3 + c]`.
public struct VideoFrames: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var frameCount: Int
    public var framesPerSecond: Double
    public var pixels: [UInt8]

    public init(width: Int, height: Int, frameCount: Int, framesPerSecond: Double, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3 * frameCount, "pixel count does not match \(frameCount)×\(height)×\(width)×3")
        self.width = width
        self.height = height
        self.frameCount = frameCount
        self.framesPerSecond = framesPerSecond
        self.pixels = pixels
    }

    public var bytesPerFrame: Int { width * height * 3 }
}
