import CFFmpeg

/// Decodes a video or image file (anything libavformat opens: mp4, webm, mkv, png, jpg, …) into
/// RGB24 frames in memory. An image gives one frame.
///
/// ```swift
/// let clip = try VideoReader(maxFrames: 81, outputSize: FrameSize(width: 832, height: 480)).read(path: "in.mp4")
/// ```
public struct VideoReader: Sendable {
    /// Stop after this many frames; nil decodes the whole file.
    public var maxFrames: Int?
    /// Resize every frame to this size; nil keeps the size of the first decoded frame.
    public var outputSize: FrameSize?
    public var resizeFilter: ResizeFilter

    public init(maxFrames: Int? = nil, outputSize: FrameSize? = nil, resizeFilter: ResizeFilter = .bicubic) {
        self.maxFrames = maxFrames
        self.outputSize = outputSize
        self.resizeFilter = resizeFilter
    }

    /// Decodes the file's best video stream. `framesPerSecond` is the stream's frame rate as libavformat
    /// guesses it (for a single image, the image demuxer's nominal 25).
    public func read(path: String) throws(MediaError) -> VideoFrames {
        if let maxFrames, maxFrames < 1 {
            throw MediaError.invalidRequest(path: path, reason: "maxFrames must be at least 1, got \(maxFrames)")
        }
        if let size = outputSize, size.width < 1 || size.height < 1 {
            throw MediaError.invalidRequest(path: path, reason: "output size \(size) is empty")
        }
        let input = try InputFile(path: path)
        let decoder = try VideoDecoder(input: input)
        var session = DecodeSession(reader: self, path: path)
        try decoder.decodeAll { frame throws(MediaError) in try session.append(frame) }
        guard let size = session.size, session.frameCount > 0 else { throw MediaError.noFrames(path: path) }
        let fps = av_guess_frame_rate(input.context, input.context.pointee.streams[decoder.streamIndex], nil)
        return VideoFrames(
            width: size.width, height: size.height, frameCount: session.frameCount,
            framesPerSecond: fps.positiveValue ?? 0, pixels: session.pixels)
    }
}

/// Collects converted frames; the first frame fixes the output size when none was asked for.
private struct DecodeSession {
    let reader: VideoReader
    let path: String
    var converter: FrameConverter?
    var size: FrameSize?
    var pixels: [UInt8] = []
    var frameCount = 0

    init(reader: VideoReader, path: String) {
        self.reader = reader
        self.path = path
    }

    /// Returns false once `maxFrames` frames are in.
    mutating func append(_ frame: UnsafePointer<AVFrame>) throws(MediaError) -> Bool {
        if converter == nil {
            let target = reader.outputSize
                ?? FrameSize(width: Int(frame.pointee.width), height: Int(frame.pointee.height))
            converter = try FrameConverter(
                outputSize: target, outputFormat: AV_PIX_FMT_RGB24, filter: reader.resizeFilter, path: path)
            size = target
        }
        let rgb = try converter!.convert(frame)
        appendRGBRows(of: rgb, to: &pixels)
        frameCount += 1
        return frameCount < (reader.maxFrames ?? Int.max)
    }
}
