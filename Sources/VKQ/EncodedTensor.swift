import Tensors

/// A tensor in its stored form, ready to be appended to a .vkq file.
public struct EncodedTensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var dtype: DType
    public var encoding: Encoding
    /// Stored bytes of the main array (a zstd frame under `.zstd`).
    public var data: [UInt8]
    /// Stored bytes of the q8 scales (f16), nil for other dtypes.
    public var scales: [UInt8]?
    public var rawDataLength: Int
    public var sourceName: String?
    public var sourceDType: String?
    public var quantizationError: Double?

    /// An already-quantized q8 tensor (e.g. a GGUF Q8_0 source: int8 blocks of `group` with f16 scales),
    /// stored without re-quantizing. `reference` (the values it came from, if known) gives the error figure.
    public static func q8(name: String, shape: [Int], values: [Int8], scales: [Float16], group: Int, zstdLevel: Int32? = nil,
                          sourceName: String? = nil, sourceDType: String? = nil) throws -> EncodedTensor {
        var data = values.withUnsafeBytes { Array($0) }
        var scaleBytes = scales.withUnsafeBytes { Array($0) }
        let rawLength = data.count
        if let level = zstdLevel {
            data = try data.withUnsafeBytes { try Zstd.compress($0, level: level) }
            scaleBytes = try Quantization.shuffleBytePlanes(scaleBytes).withUnsafeBytes { try Zstd.compress($0, level: level) }
        }
        // Lossless with respect to the source: the stored values are exactly the source's.
        return EncodedTensor(name: name, shape: shape, dtype: .q8(group: group), encoding: zstdLevel == nil ? .raw : .zstd,
                             data: data, scales: scaleBytes, rawDataLength: rawLength, sourceName: sourceName, sourceDType: sourceDType,
                             quantizationError: 0)
    }

    /// Encodes f32 `values` of `shape` as `dtype`, optionally compressed with zstd at `zstdLevel`.
    ///
    /// Values that do not fit the target format (an f32 weight beyond the f16 range) are an error
    /// naming the tensor: the recipe must then keep it in a wider type.
    public static func encode(name: String, shape: [Int], values: [Float], as dtype: DType, zstdLevel: Int32? = nil,
                              sourceName: String? = nil, sourceDType: String? = nil) throws -> EncodedTensor {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        var data: [UInt8]
        var scales: [UInt8]?
        var error: Double?
        var stored = dtype
        switch dtype {
        case .f32:
            data = values.withUnsafeBytes { Array($0) }
        case .f16:
            let halves = values.map { Float16($0) }
            if let bad = zip(values, halves).first(where: { $0.0.isFinite && !$0.1.isFinite }) {
                throw EncodingError.outOfRange(name, value: bad.0, dtype: "f16")
            }
            data = halves.withUnsafeBytes { Array($0) }
        case .bf16:
            data = values.map(Quantization.bf16Bits).withUnsafeBytes { Array($0) }
        case .q8(let group):
            let (rows, columns) = VKQLayout.matrixShape(shape)
            let q = Quantization.quantizeQ8(values, rows: rows, columns: columns, group: group)
            if let bad = q.scales.first(where: { !$0.isFinite }) {
                throw EncodingError.outOfRange(name, value: Float(bad), dtype: "q8 (f16 scale)")
            }
            data = q.values.withUnsafeBytes { Array($0) }
            scales = q.scales.withUnsafeBytes { Array($0) }
            error = q.relativeL2
            stored = .q8(group: Quantization.effectiveGroup(group, columns: columns) == columns ? 0 : group)
        }
        let rawLength = data.count
        var encoding = Encoding.raw
        if let level = zstdLevel {
            encoding = .zstd
            let planes = dtype.elementSize == 2 ? Quantization.shuffleBytePlanes(data) : data
            data = try planes.withUnsafeBytes { try Zstd.compress($0, level: level) }
            if let raw = scales {
                scales = try Quantization.shuffleBytePlanes(raw).withUnsafeBytes { try Zstd.compress($0, level: level) }
            }
        }
        return EncodedTensor(name: name, shape: shape, dtype: stored, encoding: encoding, data: data, scales: scales,
                             rawDataLength: rawLength, sourceName: sourceName, sourceDType: sourceDType, quantizationError: error)
    }
}

public enum EncodingError: Error, CustomStringConvertible {
    case outOfRange(String, value: Float, dtype: String)

    public var description: String {
        switch self {
        case .outOfRange(let name, let value, let dtype):
            "tensor '\(name)': value \(value) does not fit \(dtype); keep it in f32 with --keep '\(name)'"
        }
    }
}
