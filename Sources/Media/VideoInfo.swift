import CFFmpeg

/// What the container says about a file's best video stream, without decoding it.
public struct VideoInfo: Sendable, Equatable {
    public var size: FrameSize
    /// The stream's frame count as the container records it (mp4: the sample count); 0 when unknown.
    public var frameCount: Int
    /// Stream duration in seconds; 0 when unknown.
    public var duration: Double
    /// The frame rate libavformat settles on (`av_guess_frame_rate`).
    public var framesPerSecond: Double
    /// frameCount / duration as the container computes it (`avg_frame_rate`); 0 when unknown.
    /// A muxer that got wrong packet durations shows it here first.
    public var averageFramesPerSecond: Double
    /// The codec's short name, e.g. "h264", "png".
    public var codec: String

    /// Opens the file and reads its stream headers.
    public init(path: String) throws(MediaError) {
        let input = try InputFile(path: path)
        let index = av_find_best_stream(input.context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard index >= 0, let stream = input.context.pointee.streams[Int(index)] else {
            throw MediaError.noVideoStream(path: path)
        }
        let parameters = stream.pointee.codecpar.pointee
        // A damaged header can leave the stream without a frame size (found by the media fuzzing: a JPEG
        // whose decoder still produced pixels). Callers plan sizes from this, so refuse it here.
        guard parameters.width > 0, parameters.height > 0 else {
            throw MediaError.invalidRequest(path: path, reason: "the video stream declares no frame size (\(parameters.width)×\(parameters.height)); the file is damaged")
        }
        size = FrameSize(width: Int(parameters.width), height: Int(parameters.height))
        frameCount = max(0, Int(stream.pointee.nb_frames))
        let ticks = stream.pointee.duration
        duration = ticks > 0 ? Double(ticks) * (stream.pointee.time_base.positiveValue ?? 0) : 0
        framesPerSecond = av_guess_frame_rate(input.context, stream, nil).positiveValue ?? 0
        averageFramesPerSecond = stream.pointee.avg_frame_rate.positiveValue ?? 0
        codec = avcodec_get_name(parameters.codec_id).map { String(cString: $0) } ?? "unknown"
    }
}
