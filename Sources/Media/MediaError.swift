/// Everything that can go wrong reading or writing a video or image. Each case names the file and,
/// where FFmpeg failed, the call and FFmpeg's own text for the error code (av_strerror).
public enum MediaError: Error, Equatable, CustomStringConvertible {
    /// An FFmpeg call returned a negative error code.
    case ffmpeg(path: String, call: String, code: Int32, message: String)
    /// The file opened, but holds no video stream (an audio file, say).
    case noVideoStream(path: String)
    /// libavcodec has no decoder for the stream's codec.
    case decoderNotFound(path: String, codec: String)
    /// libavcodec has no encoder of this name (Debian's FFmpeg has `libx264`; some builds do not).
    case encoderNotFound(path: String, encoder: String)
    /// The file decoded without error but gave no frame.
    case noFrames(path: String)
    /// The request itself cannot work: odd dimensions for yuv420p, fps ≤ 0, an unknown container.
    case invalidRequest(path: String, reason: String)
    /// Writing, renaming or removing a file failed outside FFmpeg.
    case fileSystem(path: String, reason: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .ffmpeg(let path, _, _, _), .noVideoStream(let path), .decoderNotFound(let path, _),
            .encoderNotFound(let path, _), .noFrames(let path), .invalidRequest(let path, _),
            .fileSystem(let path, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .ffmpeg(let path, let call, let code, let message):
            return "\(path): \(call) failed: \(message) (error \(code))"
        case .noVideoStream(let path):
            return "\(path): no video stream in this file"
        case .decoderNotFound(let path, let codec):
            return "\(path): this FFmpeg build has no decoder for \(codec)"
        case .encoderNotFound(let path, let encoder):
            return "\(path): this FFmpeg build has no encoder '\(encoder)' (Debian: apt-get install libavcodec-extra or use another codec)"
        case .noFrames(let path):
            return "\(path): the file decoded but contained no video frame"
        case .invalidRequest(let path, let reason):
            return "\(path): \(reason)"
        case .fileSystem(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
