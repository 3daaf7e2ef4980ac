import Foundation

/// The JSON header of a .vkq file (docs/format.md has the byte-level spec).
public struct VKQHeader: Codable, Sendable, Equatable {
    /// e.g. `wan2.1-vace`, `wan2.1-t2v`, `wan2.1-vae`, `ltx-video-0.9`, `ltx-video-vae-0.9`, `vace-ltx-video-0.9`.
    public var family: String
    /// Which part of a model this file holds: `transformer`, `vae`, `text_encoder`.
    public var component: String
    /// Every number the runtime needs; nothing is guessed from file names.
    public var config: JSONValue
    public var source: [SourceFile]
    public var converter: ConverterInfo
    public var tensors: [TensorRecord]

    public init(family: String, component: String, config: JSONValue, source: [SourceFile], converter: ConverterInfo, tensors: [TensorRecord]) {
        self.family = family
        self.component = component
        self.config = config
        self.source = source
        self.converter = converter
        self.tensors = tensors
    }
}

public struct SourceFile: Codable, Sendable, Equatable {
    public var name: String
    public var size: Int
    /// XXH3-64 of the whole input file (hex).
    public var xxh3: String

    public init(name: String, size: Int, xxh3: String) {
        self.name = name
        self.size = size
        self.xxh3 = xxh3
    }
}

public struct ConverterInfo: Codable, Sendable, Equatable {
    public var version: String
    /// The recipe in words and flags, e.g. `q8 group 32, zstd 3, keep: ["head.*"]`.
    public var recipe: String
    public var quantization: QuantizationSummary?

    public init(version: String, recipe: String, quantization: QuantizationSummary? = nil) {
        self.version = version
        self.recipe = recipe
        self.quantization = quantization
    }
}

/// Relative L2 errors ‖dequant(q) − w‖ / ‖w‖ over the quantized tensors.
public struct QuantizationSummary: Codable, Sendable, Equatable {
    public var tensors: Int
    public var maxRelativeL2: Double
    public var meanRelativeL2: Double
    public var worst: [String]

    public init(tensors: Int, maxRelativeL2: Double, meanRelativeL2: Double, worst: [String]) {
        self.tensors = tensors
        self.maxRelativeL2 = maxRelativeL2
        self.meanRelativeL2 = meanRelativeL2
        self.worst = worst
    }
}

/// Where one array of a tensor lies in the file.
public struct Blob: Codable, Sendable, Equatable {
    /// Absolute byte offset, a multiple of 4096.
    public var offset: Int
    /// Stored bytes (compressed length under zstd).
    public var length: Int
    /// XXH3-64 (hex) of the stored bytes.
    public var xxh3: String

    public init(offset: Int, length: Int, xxh3: String) {
        self.offset = offset
        self.length = length
        self.xxh3 = xxh3
    }
}

public enum Encoding: String, Codable, Sendable {
    /// The bytes as the runtime uses them; mmap-able in place.
    case raw
    /// One zstd frame; 16-bit data is byte-plane shuffled first (all low bytes, then all high bytes).
    case zstd
}

public struct TensorRecord: Codable, Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    /// `f32`, `f16`, `bf16` or `q8`.
    public var dtype: String
    /// q8 only: input elements per scale (0 = one scale per row).
    public var group: Int?
    public var encoding: Encoding
    public var data: Blob
    /// q8 only: f16 scales, [rows, groupsPerRow] row-major.
    public var scales: Blob?
    /// The checkpoint key and dtype this tensor came from.
    public var sourceName: String?
    public var sourceDType: String?
    /// q8 only: relative L2 error of the quantization.
    public var quantizationError: Double?

    public init(name: String, shape: [Int], dtype: String, group: Int? = nil, encoding: Encoding, data: Blob, scales: Blob? = nil,
                sourceName: String? = nil, sourceDType: String? = nil, quantizationError: Double? = nil) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.group = group
        self.encoding = encoding
        self.data = data
        self.scales = scales
        self.sourceName = sourceName
        self.sourceDType = sourceDType
        self.quantizationError = quantizationError
    }

    enum CodingKeys: String, CodingKey {
        case name, shape, dtype, group, encoding, data, scales
        case sourceName = "source_name", sourceDType = "source_dtype", quantizationError = "quantization_error"
    }
}
