import Foundation
import Tensors

/// Host bytes into and out of tensor memory.
///
/// Unified memory (`VulkanMemoryStrategy.unified`): the tensor's region is mapped; an upload is a
/// plain copy into it, a read-back waits for the device and reads it in place.
/// Staged memory: the tensor's region is device-local. An upload fills a staging region and records
/// a copy into the tensor, ordered with the dispatches (so uploading never waits for the device); a
/// read-back records copies into staging regions, waits once, then reads those. Staging regions go
/// back to their pool at once: the pool hands them out again only after the batch holding the copy
/// has completed, and the scheduler closes a batch every few tens of MB copied, so an upload of a
/// whole model cycles through a bounded amount of staging memory.
extension VulkanBackend {
    /// The largest piece of one staged copy; larger transfers go in pieces of this size.
    static let stagingPieceBytes = 16 << 20
    /// Read-back pieces in flight before the host waits and drains them (64 MiB of staging).
    static let stagingPiecesPerWait = 4

    /// Copies `bytes` into `region` at `offset` (the caller holds the lock).
    func upload(_ bytes: UnsafeRawBufferPointer, into region: BufferRegion, at offset: Int = 0) throws {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(offset >= 0 && offset + bytes.count <= region.capacity, "upload of \(bytes.count) bytes overruns a \(region.capacity)-byte region")
        if let mapped = region.mapped {
            (mapped + offset).copyMemory(from: source, byteCount: bytes.count)
            return
        }
        var done = 0
        while done < bytes.count {
            let count = min(Self.stagingPieceBytes, bytes.count - done)
            let staging = try stagingPool.allocate(count, hostWrites: true)
            defer { stagingPool.release(staging) }
            staging.mapped!.copyMemory(from: source + done, byteCount: count)
            try scheduler.copy(from: staging, to: region, destinationOffset: offset + done, bytes: count)
            done += count
        }
    }

    /// Calls `body` with the bytes of a tensor and of its q8 scales once the device has written them
    /// (the caller holds the lock). Unified memory: in place (weights at once: only the host writes
    /// them); staged: copied back through staging, a few pieces per wait, so a large read-back holds
    /// a bounded amount of staging memory.
    func withHostBytes<R>(_ storage: VulkanTensorStorage, _ body: (UnsafeRawPointer, UnsafeRawPointer?) throws -> R) throws -> R {
        if let bytes = storage.region.mapped {
            if !storage.isWeight { try scheduler.synchronize() }
            return try body(bytes, storage.scales?.mapped)
        }
        let scaleBytes = storage.scales.map { _ in storage.scaleByteCount } ?? 0
        var data = [UInt8](repeating: 0, count: max(storage.byteCount, 1))
        var scales = [UInt8](repeating: 0, count: scaleBytes)
        try data.withUnsafeMutableBytes { dataPointer in
            try scales.withUnsafeMutableBytes { scalePointer in
                var sources = [(storage.region, dataPointer.baseAddress!, storage.byteCount)]
                if let region = storage.scales { sources.append((region, scalePointer.baseAddress!, scaleBytes)) }
                var pieces: [(staging: BufferRegion, into: UnsafeMutableRawPointer, count: Int)] = []
                defer { pieces.forEach { stagingPool.release($0.staging) } }
                func drain() throws {
                    try scheduler.synchronize()
                    for piece in pieces { piece.into.copyMemory(from: piece.staging.mapped!, byteCount: piece.count) }
                    pieces.forEach { stagingPool.release($0.staging) }
                    pieces.removeAll()
                }
                for (region, destination, total) in sources {
                    var done = 0
                    while done < total {
                        let count = min(Self.stagingPieceBytes, total - done)
                        let staging = try stagingPool.allocate(count, hostWrites: true)
                        pieces.append((staging, destination + done, count))
                        try scheduler.copy(from: region, sourceOffset: done, to: staging, bytes: count)
                        done += count
                        if pieces.count == Self.stagingPiecesPerWait { try drain() }
                    }
                }
                try drain()
            }
        }
        return try data.withUnsafeBytes { bytes in
            try scales.withUnsafeBytes { scales in try body(bytes.baseAddress!, scaleBytes > 0 ? scales.baseAddress! : nil) }
        }
    }
}
