import CFFmpeg

/// An opened input file (avformat_open_input + avformat_find_stream_info), closed on deinit.
final class InputFile {
    let context: UnsafeMutablePointer<AVFormatContext>
    let path: String

    init(path: String) throws(MediaError) {
        quietFFmpegLogging()
        var context: UnsafeMutablePointer<AVFormatContext>?
        try checkFFmpeg(avformat_open_input(&context, path, nil, nil), "avformat_open_input", path: path)
        guard let opened = context else { throw allocationFailed("avformat_open_input", path: path) }
        self.context = opened
        self.path = path
        try checkFFmpeg(avformat_find_stream_info(opened, nil), "avformat_find_stream_info", path: path)
    }

    deinit {
        var owned: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&owned)
    }
}

/// A decoder opened for the best video stream of an input file.
final class VideoDecoder {
    let input: InputFile
    let streamIndex: Int
    private let codec: UnsafeMutablePointer<AVCodecContext>

    init(input: InputFile) throws(MediaError) {
        let path = input.path
        var decoder: UnsafePointer<AVCodec>?
        let index = av_find_best_stream(input.context, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        if index == AVERROR_STREAM_NOT_FOUND_CODE { throw MediaError.noVideoStream(path: path) }
        if index == AVERROR_DECODER_NOT_FOUND_CODE {
            throw MediaError.decoderNotFound(path: path, codec: "its video stream")
        }
        try checkFFmpeg(index, "av_find_best_stream", path: path)
        guard let decoder, let codec = avcodec_alloc_context3(decoder) else {
            throw allocationFailed("avcodec_alloc_context3", path: path)
        }
        self.input = input
        self.streamIndex = Int(index)
        self.codec = codec
        let stream = input.context.pointee.streams[Int(index)]!
        try checkFFmpeg(avcodec_parameters_to_context(codec, stream.pointee.codecpar), "avcodec_parameters_to_context", path: path)
        codec.pointee.pkt_timebase = stream.pointee.time_base
        codec.pointee.thread_count = 0  // as many threads as cores
        try checkFFmpeg(avcodec_open2(codec, decoder, nil), "avcodec_open2", path: path)
    }

    deinit {
        var owned: UnsafeMutablePointer<AVCodecContext>? = codec
        avcodec_free_context(&owned)
    }

    /// Reads packets, decodes them and hands each frame to `body` until the file ends or `body`
    /// returns false. Flushes the decoder at the end, so frames held back for reordering come out too.
    func decodeAll(_ body: (UnsafePointer<AVFrame>) throws(MediaError) -> Bool) throws(MediaError) {
        let path = input.path
        guard let packet = av_packet_alloc() else { throw allocationFailed("av_packet_alloc", path: path) }
        defer { var owned: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&owned) }
        guard let frame = av_frame_alloc() else { throw allocationFailed("av_frame_alloc", path: path) }
        defer { var owned: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&owned) }
        while true {
            let readCode = av_read_frame(input.context, packet)
            if readCode == shim_AVERROR_EOF() { break }
            try checkFFmpeg(readCode, "av_read_frame", path: path)
            defer { av_packet_unref(packet) }
            guard Int(packet.pointee.stream_index) == streamIndex else { continue }
            try checkFFmpeg(avcodec_send_packet(codec, packet), "avcodec_send_packet", path: path)
            if try !receiveFrames(into: frame, body) { return }
        }
        try checkFFmpeg(avcodec_send_packet(codec, nil), "avcodec_send_packet (flush)", path: path)
        _ = try receiveFrames(into: frame, body)
    }

    /// Drains every frame the decoder has ready; false when `body` asked to stop.
    private func receiveFrames(
        into frame: UnsafeMutablePointer<AVFrame>, _ body: (UnsafePointer<AVFrame>) throws(MediaError) -> Bool
    ) throws(MediaError) -> Bool {
        while true {
            let code = avcodec_receive_frame(codec, frame)
            if code == shim_AVERROR_EAGAIN() || code == shim_AVERROR_EOF() { return true }
            try checkFFmpeg(code, "avcodec_receive_frame", path: input.path)
            defer { av_frame_unref(frame) }
            if try !body(frame) { return false }
        }
    }
}

// AVERROR_STREAM_NOT_FOUND and AVERROR_DECODER_NOT_FOUND are FFERRTAG macros: -MKTAG(0xF8,'S','T','R') etc.
private let AVERROR_STREAM_NOT_FOUND_CODE: Int32 = -fourCC(0xF8, "S", "T", "R")
private let AVERROR_DECODER_NOT_FOUND_CODE: Int32 = -fourCC(0xF8, "D", "E", "C")

private func fourCC(_ a: UInt8, _ b: Character, _ c: Character, _ d: Character) -> Int32 {
    let value = UInt32(a) | UInt32(b.asciiValue!) << 8 | UInt32(c.asciiValue!) << 16 | UInt32(d.asciiValue!) << 24
    return Int32(bitPattern: value)
}
