import Foundation

/// Writes a safetensors file (used for `vacekit forward --output` and for test inputs).
///
/// Tensors are laid out in the order given, each starting 8-byte aligned within the data section
/// (the header is padded with spaces so that the data starts 8-byte aligned, as the reference writer does).
public struct SafetensorsWriter {
    public struct Tensor {
        public var name: String
        public var dtype: SafetensorsDType
        public var shape: [Int]
        public var bytes: [UInt8]

        public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        public init(name: String, shape: [Int], floats: [Float]) {
            self.init(name: name, dtype: .f32, shape: shape,
                      bytes: floats.withUnsafeBytes { Array($0) })  // little-endian hosts only (x86_64, arm64)
        }
    }

    public var tensors: [Tensor] = []
    public var metadata: [String: String] = [:]

    public init(tensors: [Tensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The whole file as bytes.
    public func serialized() throws -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for tensor in tensors {
            header[tensor.name] = ["dtype": tensor.dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + tensor.bytes.count]]
            offset += tensor.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for tensor in tensors { out.append(contentsOf: tensor.bytes) }
        return out
    }

    /// Writes to `url` through a temporary file renamed into place when complete.
    public func write(to url: URL) throws {
        let temporary = url.appendingPathExtension("tmp")
        try Data(serialized()).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }
}
