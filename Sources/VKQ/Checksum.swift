import CXXHash

/// XXH3-64 (xxHash), the checksum of every stored tensor blob and of the header: ~30 GB/s, so
/// verifying a 14B-parameter file costs about as much as reading it.
public enum Checksum {
    public static func xxh3(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }

    /// The form stored in headers: 16 lowercase hex digits.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static func xxh3Hex(_ bytes: UnsafeRawBufferPointer) -> String { hex(xxh3(bytes)) }
}
