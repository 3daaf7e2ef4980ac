import Testing
@testable import VKQ

@Suite struct ZstdTests {
    @Test func roundTripRestoresEveryByte() throws {
        // Compressible but not trivial: a ramp with sparse one-bit noise.
        var state: UInt32 = 12345
        let input: [UInt8] = (0 ..< 100_003).map { i in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: i / 64) ^ (i % 16 == 0 ? UInt8(state >> 31) : 0)
        }
        let frame = try input.withUnsafeBytes { try Zstd.compress($0, level: 3) }
        #expect(frame.count < input.count / 2, "a ramp should compress at least 2×; got \(frame.count) of \(input.count)")
        var output = [UInt8](repeating: 0, count: input.count)
        try frame.withUnsafeBytes { src in try output.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0) } }
        #expect(output == input)
    }

    @Test func corruptFrameIsAnErrorNotACrash() throws {
        let input = [UInt8](repeating: 7, count: 4096)
        var frame = try input.withUnsafeBytes { try Zstd.compress($0) }
        var output = [UInt8](repeating: 0, count: input.count)
        let truncated = Array(frame.prefix(frame.count - 6))
        #expect(throws: ZstdError.self) {
            try truncated.withUnsafeBytes { src in try output.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0) } }
        }
        frame[frame.count - 2] ^= 0xFF  // inside the frame's content checksum
        #expect(throws: ZstdError.self) {
            try frame.withUnsafeBytes { src in try output.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0) } }
        }
        // A frame declaring another size than the caller expects.
        let good = try input.withUnsafeBytes { try Zstd.compress($0) }
        var short = [UInt8](repeating: 0, count: 100)
        #expect(throws: ZstdError.sizeMismatch(expected: 100, frame: 4096)) {
            try good.withUnsafeBytes { src in try short.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0) } }
        }
    }
}
