import CFFmpeg
import Foundation

/// Writes single frames as image files (reference images, previews, debugging dumps).
public enum ImageWriter {
    /// Writes frame `index` of `frames` as an RGB24 PNG: lossless, any size.
    public static func writePNG(_ frames: VideoFrames, frame index: Int = 0, to path: String) throws(MediaError) {
        let bytes = try encode(frames, frame: index, path: path, codecID: AV_CODEC_ID_PNG, pixelFormat: AV_PIX_FMT_RGB24) { _ in }
        try writeAtomically(bytes, to: path)
    }

    /// Writes frame `index` of `frames` as a baseline JPEG (BT.601, full range, 4:2:0).
    /// `quality` is the MJPEG quantiser scale: 2 is the best, 31 the worst.
    public static func writeJPEG(_ frames: VideoFrames, frame index: Int = 0, quality: Int = 2, to path: String) throws(MediaError) {
        guard (2...31).contains(quality) else {
            throw MediaError.invalidRequest(path: path, reason: "JPEG quality must be in 2...31, got \(quality)")
        }
        let bytes = try encode(frames, frame: index, path: path, codecID: AV_CODEC_ID_MJPEG, pixelFormat: AV_PIX_FMT_YUVJ420P) { codec in
            codec.pointee.flags |= AV_CODEC_FLAG_QSCALE
            codec.pointee.global_quality = Int32(quality) * FF_QP2LAMBDA
            codec.pointee.color_range = AVCOL_RANGE_JPEG
            codec.pointee.colorspace = AVCOL_SPC_BT470BG
        }
        try writeAtomically(bytes, to: path)
    }

    private static func writeAtomically(_ bytes: [UInt8], to path: String) throws(MediaError) {
        let output = AtomicOutput(destination: path)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: output.temporary))
        } catch {
            output.discard()
            throw MediaError.fileSystem(path: path, reason: "cannot write \(output.temporary): \(error.localizedDescription)")
        }
        try output.commit()
    }

    /// Encodes one frame with an image codec and returns the bitstream (one packet for png and mjpeg).
    private static func encode(
        _ frames: VideoFrames, frame index: Int, path: String, codecID: AVCodecID, pixelFormat: AVPixelFormat,
        configure: (UnsafeMutablePointer<AVCodecContext>) -> Void
    ) throws(MediaError) -> [UInt8] {
        guard (0..<frames.frameCount).contains(index) else {
            throw MediaError.invalidRequest(path: path, reason: "frame \(index) requested from a clip of \(frames.frameCount) frames")
        }
        quietFFmpegLogging()
        guard let encoder = avcodec_find_encoder(codecID) else {
            throw MediaError.encoderNotFound(path: path, encoder: String(cString: avcodec_get_name(codecID)))
        }
        var codec = avcodec_alloc_context3(encoder)
        var rgb = av_frame_alloc()
        var packet = av_packet_alloc()
        defer {
            avcodec_free_context(&codec)
            av_frame_free(&rgb)
            av_packet_free(&packet)
        }
        guard let codec, let rgb, let packet else { throw allocationFailed("avcodec_alloc_context3", path: path) }
        codec.pointee.width = Int32(frames.width)
        codec.pointee.height = Int32(frames.height)
        codec.pointee.pix_fmt = pixelFormat
        codec.pointee.time_base = AVRational(num: 1, den: 1)
        configure(codec)
        try checkFFmpeg(avcodec_open2(codec, encoder, nil), "avcodec_open2 (\(String(cString: encoder.pointee.name)))", path: path)

        rgb.pointee.width = codec.pointee.width
        rgb.pointee.height = codec.pointee.height
        rgb.pointee.format = AV_PIX_FMT_RGB24.rawValue
        rgb.pointee.color_range = AVCOL_RANGE_JPEG
        try checkFFmpeg(av_frame_get_buffer(rgb, 0), "av_frame_get_buffer", path: path)
        copyRGBRows(of: frames, frame: index, into: rgb)

        var converter: FrameConverter?  // kept alive until the encoder is done with its frame
        var input = rgb
        if pixelFormat != AV_PIX_FMT_RGB24 {
            converter = try FrameConverter(
                outputSize: FrameSize(width: frames.width, height: frames.height), outputFormat: pixelFormat,
                filter: .bicubic, outputColorSpace: codec.pointee.colorspace,
                outputFullRange: codec.pointee.color_range == AVCOL_RANGE_JPEG, path: path)
            input = try converter!.convert(rgb)
        }
        input.pointee.pts = 0
        try checkFFmpeg(avcodec_send_frame(codec, input), "avcodec_send_frame", path: path)
        try checkFFmpeg(avcodec_send_frame(codec, nil), "avcodec_send_frame (flush)", path: path)

        var bytes: [UInt8] = []
        while true {
            let code = avcodec_receive_packet(codec, packet)
            if code == shim_AVERROR_EOF() || code == shim_AVERROR_EAGAIN() { break }
            try checkFFmpeg(code, "avcodec_receive_packet", path: path)
            bytes.append(contentsOf: UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
            av_packet_unref(packet)
        }
        withExtendedLifetime(converter) {}
        return bytes
    }
}
