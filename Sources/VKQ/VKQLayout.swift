import Tensors

/// Fixed numbers of the .vkq format, version 1 (docs/format.md).
///
/// ```
/// 0    "VKQ1"                   magic
/// 4    u32  format version      1
/// 8    u64  header length H     bytes of UTF-8 JSON
/// 16   u64  header XXH3-64      of those H bytes
/// 24   u64  data offset D       first tensor byte; multiple of 4096
/// 32   u64  file length         whole file in bytes (catches truncation anywhere)
/// 40   24 zero bytes            reserved
/// 64   header JSON, padded with spaces to D
/// D    tensor blobs, each at a multiple of 4096, zero padding between
/// ```
public enum VKQLayout {
    public static let magic: [UInt8] = Array("VKQ1".utf8)
    public static let version: UInt32 = 1
    public static let preambleSize = 64
    /// Every blob starts on this boundary so that it can be used in place through mmap.
    public static let alignment = 4096

    public static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    /// Rows and columns of a tensor seen as a matrix: the first dimension is the output row,
    /// the rest (e.g. a conv kernel's in × kT × kH × kW) is one row.
    public static func matrixShape(_ shape: [Int]) -> (rows: Int, columns: Int) {
        guard let first = shape.first else { return (1, 1) }
        return (first, shape.dropFirst().reduce(1, *))
    }

    /// The dtype named in a header (`f32`, `f16`, `bf16`, `q8` + group).
    public static func dtype(named name: String, group: Int?) -> DType? {
        switch name {
        case "f32": .f32
        case "f16": .f16
        case "bf16": .bf16
        case "q8": group.map { DType.q8(group: $0) }
        default: nil
        }
    }
}
