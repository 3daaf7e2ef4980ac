import Foundation

/// One tensor as a checkpoint file declares it. `dtype` is the file's own name for the type
/// (safetensors `F32`/`BF16`/…, GGUF `Q8_0`/`Q4_K`/…, .pth `FloatStorage` → `F32`).
public struct CheckpointTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: String
    /// PyTorch order, outermost first (GGUF's reversed ne[] is turned around by its reader).
    public var shape: [Int]

    public init(name: String, dtype: String, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
}

/// A checkpoint file of any supported format, read lazily one tensor at a time.
public protocol CheckpointReader: AnyObject, Sendable {
    var url: URL { get }
    /// Every tensor, in file order.
    var tensorInfos: [CheckpointTensorInfo] { get }
    /// String metadata (safetensors `__metadata__`, GGUF key/values rendered as text); empty if none.
    var metadata: [String: String] { get }
    /// A tensor's values as f32 (dequantized if stored quantized). Errors name the file and tensor.
    func floats(_ name: String) throws -> [Float]
    /// Drops the memory-mapped pages of a tensor already read, so that streaming a large file does
    /// not grow the resident set (the pages stay in the page cache).
    func releasePages(_ name: String)
}

extension CheckpointReader {
    public func releasePages(_ name: String) {}
}

extension SafetensorsFile: CheckpointReader {
    public func releasePages(_ name: String) {
        if let entry = entry(name) { mapped.dropPages(entry.range) }
    }

    public var tensorInfos: [CheckpointTensorInfo] {
        entries.map { CheckpointTensorInfo(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape) }
    }
}
