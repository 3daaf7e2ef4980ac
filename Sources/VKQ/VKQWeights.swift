import Foundation
import Tensors

/// A .vkq file as a `WeightProvider`: raw tensors are handed out in place from the memory map,
/// zstd tensors decompressed on request.
public final class VKQWeights: WeightProvider, @unchecked Sendable {
    public let file: VKQFile

    public init(url: URL) throws { file = try VKQFile(url: url) }
    public init(file: VKQFile) { self.file = file }

    public var family: String { file.header.family }

    public var configJSON: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(file.header.config)) ?? Data("{}".utf8)
    }

    public func contains(_ name: String) -> Bool { (try? file.record(name)) != nil }

    public func weightData(_ name: String) throws -> WeightData {
        let record = try file.record(name)
        let (data, scales) = try file.decoded(record)
        return WeightData(name: name, shape: Shape(record.shape), dtype: file.dtype(of: record), data: data.bytes,
                          scales: scales?.bytes, owner: Holder(data, scales))
    }

    /// Drops the mapped pages of the raw tensors under `prefix` from the resident set (they stay in
    /// the page cache, so the next use is a minor fault, not a read). zstd tensors are decoded into
    /// buffers of their own, freed when their last tensor goes.
    public func evict(prefix: String) {
        for record in file.tensors where record.name.hasPrefix(prefix) && record.encoding == .raw {
            for blob in [record.data, record.scales].compactMap({ $0 }) { file.dropPages(blob) }
        }
    }

    /// Keeps decoded buffers (or the file's memory map) alive while a backend uses them.
    private final class Holder {
        let data: TensorBytes
        let scales: TensorBytes?
        init(_ data: TensorBytes, _ scales: TensorBytes?) {
            self.data = data
            self.scales = scales
        }
    }
}
