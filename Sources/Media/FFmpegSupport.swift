import CFFmpeg

// Small pieces shared by the reader and the writers: error text, log level, checked calls.

/// FFmpeg's text for an error code, e.g. "No such file or directory" or "Invalid data found when processing input".
func ffmpegErrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    if av_strerror(code, &buffer, buffer.count) < 0 { return "unknown FFmpeg error \(code)" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Throws `MediaError.ffmpeg` naming the file and the call when `code` is negative; returns it otherwise.
@discardableResult
func checkFFmpeg(_ code: Int32, _ call: String, path: String) throws(MediaError) -> Int32 {
    if code < 0 {
        throw MediaError.ffmpeg(path: path, call: call, code: code, message: ffmpegErrorText(code))
    }
    return code
}

/// `AVERROR(ENOMEM)`-style failure for allocators that return nil instead of a code.
func allocationFailed(_ call: String, path: String) -> MediaError {
    .ffmpeg(path: path, call: call, code: -12, message: "out of memory")
}

/// FFmpeg logs every encoder's settings at INFO level (libx264 prints several lines per file).
/// Only errors reach stderr; our own errors carry the details. Runs once per process.
private let quietLoggingOnce: Void = { av_log_set_level(AV_LOG_ERROR) }()
func quietFFmpegLogging() { _ = quietLoggingOnce }

extension AVRational {
    /// The value as a Double, or nil when it is 0/0, negative or otherwise unusable.
    var positiveValue: Double? {
        guard num > 0, den > 0 else { return nil }
        return Double(num) / Double(den)
    }
}
