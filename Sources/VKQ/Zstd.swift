import CZstd

/// zstd frames for .vkq tensor data (one frame per tensor).
public enum Zstd {
    /// Compresses `input` into one zstd frame at `level` (1...19; 3 is zstd's default).
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 3) throws -> [UInt8] {
        guard let context = ZSTD_createCCtx() else { throw ZstdError.failed("cannot allocate a compression context") }
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        // The frame's own xxHash64: corruption inside a frame is reported by zstd itself.
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compress2(context, out.baseAddress, bound, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 { throw ZstdError.failed(errorName(written)) }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses one frame into `output`, which must be exactly the frame's content size.
    public static func decompress(_ frame: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        // ZSTD_CONTENTSIZE_UNKNOWN / _ERROR are the macros 0ULL-1 and 0ULL-2, not importable.
        guard declared < UInt64.max - 1 else { throw ZstdError.corruptFrame }
        guard declared == UInt64(output.count) else {
            throw ZstdError.sizeMismatch(expected: output.count, frame: Int(declared))
        }
        let written = ZSTD_decompress(output.baseAddress, output.count, frame.baseAddress, frame.count)
        if ZSTD_isError(written) != 0 { throw ZstdError.failed(errorName(written)) }
        guard written == output.count else { throw ZstdError.sizeMismatch(expected: output.count, frame: written) }
    }

    private static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
}

public enum ZstdError: Error, CustomStringConvertible, Equatable {
    case corruptFrame
    case sizeMismatch(expected: Int, frame: Int)
    case failed(String)

    public var description: String {
        switch self {
        case .corruptFrame: "zstd: not a valid frame (or its content size is missing)"
        case .sizeMismatch(let expected, let frame): "zstd: frame holds \(frame) bytes, expected \(expected)"
        case .failed(let name): "zstd: \(name)"
        }
    }
}
