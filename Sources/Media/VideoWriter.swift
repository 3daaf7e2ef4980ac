import CFFmpeg

/// Encodes frames to a video file: H.264 (libx264) in yuv420p by default, in the container that the
/// file's extension names (mp4, mov, mkv). The file appears only when complete.
///
/// ```swift
/// try VideoWriter(preset: "slow").write(clip, to: "out.mp4")
/// ```
public struct VideoWriter: Sendable {
    /// libavcodec encoder name.
    public var encoder: String
    /// x264 preset (ultrafast … veryslow); slower presets give smaller files at the same quality.
    public var preset: String
    /// x264 constant rate factor: 0 lossless, 18 visually lossless, 23 x264's default.
    public var crf: Double

    public init(preset: String = "medium", crf: Double = 18, encoder: String = "libx264") {
        self.encoder = encoder
        self.preset = preset
        self.crf = crf
    }

    public func write(_ frames: VideoFrames, to path: String) throws(MediaError) {
        guard frames.frameCount > 0 else { throw MediaError.invalidRequest(path: path, reason: "no frames to write") }
        guard frames.width % 2 == 0, frames.height % 2 == 0, frames.width > 0, frames.height > 0 else {
            throw MediaError.invalidRequest(
                path: path, reason: "yuv420p needs an even width and height, got \(frames.width)×\(frames.height); resize first")
        }
        guard frames.framesPerSecond > 0, frames.framesPerSecond.isFinite else {
            throw MediaError.invalidRequest(path: path, reason: "frames per second must be positive, got \(frames.framesPerSecond)")
        }
        let output = AtomicOutput(destination: path)
        do throws(MediaError) {
            let muxer = try EncodingMuxer(writer: self, frames: frames, path: path, temporaryPath: output.temporary)
            for index in 0..<frames.frameCount {
                try muxer.encode(frame: index)
            }
            try muxer.finish()
        } catch {
            output.discard()
            throw error
        }
        try output.commit()
    }
}

/// One encoder feeding one muxed stream. Frame i has pts i in the codec time base 1/fps; packets
/// carry a duration of one frame, rescaled to the stream's time base.
private final class EncodingMuxer {
    private let path: String
    private let frames: VideoFrames
    private let format: UnsafeMutablePointer<AVFormatContext>
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>!
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var rgb: UnsafeMutablePointer<AVFrame>?
    private var converter: FrameConverter?
    private var fileIsOpen = false

    init(writer: VideoWriter, frames: VideoFrames, path: String, temporaryPath: String) throws(MediaError) {
        quietFFmpegLogging()
        self.path = path
        self.frames = frames
        // The container comes from the destination's extension; the bytes go to the temporary file.
        guard let container = av_guess_format(nil, path, nil) else {
            throw MediaError.invalidRequest(path: path, reason: "no container format for this file extension (use .mp4, .mov or .mkv)")
        }
        var allocated: UnsafeMutablePointer<AVFormatContext>?
        try checkFFmpeg(avformat_alloc_output_context2(&allocated, container, nil, temporaryPath), "avformat_alloc_output_context2", path: path)
        guard let allocated else { throw allocationFailed("avformat_alloc_output_context2", path: path) }
        format = allocated
        try openEncoder(writer, container: container)
        try openFile(temporaryPath, container: container)
    }

    private func openEncoder(_ writer: VideoWriter, container: UnsafePointer<AVOutputFormat>) throws(MediaError) {
        guard let encoder = avcodec_find_encoder_by_name(writer.encoder) else {
            throw MediaError.encoderNotFound(path: path, encoder: writer.encoder)
        }
        guard let codec = avcodec_alloc_context3(encoder), let packet = av_packet_alloc() else {
            throw allocationFailed("avcodec_alloc_context3", path: path)
        }
        self.codec = codec
        self.packet = packet
        let rate = av_d2q(frames.framesPerSecond, 100_000)
        codec.pointee.width = Int32(frames.width)
        codec.pointee.height = Int32(frames.height)
        codec.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        codec.pointee.time_base = av_inv_q(rate)
        codec.pointee.framerate = rate
        // BT.709 matrix, limited range, and say so in the stream, so players and our reader agree.
        codec.pointee.colorspace = AVCOL_SPC_BT709
        codec.pointee.color_range = AVCOL_RANGE_MPEG
        if container.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            codec.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        if writer.encoder.hasPrefix("libx26") {
            try checkFFmpeg(av_opt_set(codec.pointee.priv_data, "preset", writer.preset, 0), "av_opt_set(preset)", path: path)
            try checkFFmpeg(av_opt_set_double(codec.pointee.priv_data, "crf", writer.crf, 0), "av_opt_set(crf)", path: path)
        }
        try checkFFmpeg(
            avcodec_open2(codec, encoder, nil), "avcodec_open2 (\(writer.encoder), preset \(writer.preset), crf \(writer.crf))",
            path: path)

        guard let stream = avformat_new_stream(format, nil) else { throw allocationFailed("avformat_new_stream", path: path) }
        self.stream = stream
        try checkFFmpeg(avcodec_parameters_from_context(stream.pointee.codecpar, codec), "avcodec_parameters_from_context", path: path)
        stream.pointee.time_base = codec.pointee.time_base  // a hint; the muxer may choose another
        stream.pointee.avg_frame_rate = rate

        converter = try FrameConverter(
            outputSize: FrameSize(width: frames.width, height: frames.height), outputFormat: AV_PIX_FMT_YUV420P,
            filter: .bicubic, outputColorSpace: AVCOL_SPC_BT709, outputFullRange: false, path: path)
        guard let rgb = av_frame_alloc() else { throw allocationFailed("av_frame_alloc", path: path) }
        self.rgb = rgb
        rgb.pointee.width = Int32(frames.width)
        rgb.pointee.height = Int32(frames.height)
        rgb.pointee.format = AV_PIX_FMT_RGB24.rawValue
        rgb.pointee.color_range = AVCOL_RANGE_JPEG
        try checkFFmpeg(av_frame_get_buffer(rgb, 0), "av_frame_get_buffer", path: path)
    }

    private func openFile(_ temporaryPath: String, container: UnsafePointer<AVOutputFormat>) throws(MediaError) {
        if container.pointee.flags & AVFMT_NOFILE == 0 {
            try checkFFmpeg(avio_open(&format.pointee.pb, temporaryPath, AVIO_FLAG_WRITE), "avio_open(\(temporaryPath))", path: path)
            fileIsOpen = true
        }
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        let name = String(cString: container.pointee.name)
        if name == "mp4" || name == "mov" {
            av_dict_set(&options, "movflags", "+faststart", 0)  // index first: plays while downloading
        }
        try checkFFmpeg(avformat_write_header(format, &options), "avformat_write_header", path: path)
    }

    deinit {
        if fileIsOpen { avio_closep(&format.pointee.pb) }
        avformat_free_context(format)
        avcodec_free_context(&codec)
        av_packet_free(&packet)
        av_frame_free(&rgb)
    }

    func encode(frame index: Int) throws(MediaError) {
        guard let rgb, let converter else { return }
        try checkFFmpeg(av_frame_make_writable(rgb), "av_frame_make_writable", path: path)
        copyRGBRows(of: frames, frame: index, into: rgb)
        let yuv = try converter.convert(rgb)
        yuv.pointee.pts = Int64(index)
        try checkFFmpeg(avcodec_send_frame(codec, yuv), "avcodec_send_frame", path: path)
        try writePackets()
    }

    /// Drains the encoder's delayed frames, then writes the container's index.
    func finish() throws(MediaError) {
        try checkFFmpeg(avcodec_send_frame(codec, nil), "avcodec_send_frame (flush)", path: path)
        try writePackets()
        try checkFFmpeg(av_write_trailer(format), "av_write_trailer", path: path)
        if fileIsOpen {
            try checkFFmpeg(avio_closep(&format.pointee.pb), "avio_closep", path: path)
            fileIsOpen = false
        }
    }

    private func writePackets() throws(MediaError) {
        guard let codec, let packet else { return }
        while true {
            let code = avcodec_receive_packet(codec, packet)
            if code == shim_AVERROR_EAGAIN() || code == shim_AVERROR_EOF() { return }
            try checkFFmpeg(code, "avcodec_receive_packet", path: path)
            // libx264 leaves durations at 0; without them the mp4 muxer guesses the last frame's
            // duration, and the file's duration and frame rate come out wrong.
            if packet.pointee.duration == 0 { packet.pointee.duration = 1 }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            // Takes the packet's reference and leaves it blank for the next receive.
            try checkFFmpeg(av_interleaved_write_frame(format, packet), "av_interleaved_write_frame", path: path)
        }
    }
}
