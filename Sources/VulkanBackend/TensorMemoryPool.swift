import Foundation

/// A byte range of a pooled device buffer (a block shared with other tensors, or a dedicated buffer).
struct BufferRegion: @unchecked Sendable {
    let buffer: VulkanBuffer
    let offset: Int
    /// The bucket size: what the region can hold (at least what was asked for).
    let capacity: Int
    /// A buffer of its own (large tensors), not a part of a shared block.
    var isDedicated: Bool { offset == 0 && buffer.byteCount == capacity }

    /// The region's bytes in a host-visible pool (nil in a device-local one).
    var mapped: UnsafeMutableRawPointer? { buffer.mapped.map { $0 + offset } }
}

/// Device memory for tensors: large blocks sub-allocated by a bump pointer, and a free list per size
/// bucket through which released regions are reused, so a forward pass stops allocating after its
/// first block.
///
/// Reuse and the GPU: a region is released (the tensor's storage deinitialises) while recorded or
/// in-flight dispatches may still read it. That is harmless for the *outputs* of later dispatches:
/// every dispatch is ordered after the previous ones by a full compute barrier, within a command
/// buffer and across the batches of the queue. It is not harmless for *host* writes (`tensor()`,
/// weight uploads), which happen at once: those only get regions whose release epoch has completed.
/// An epoch is one batch of dispatches; `recordingEpoch` is the batch being recorded.
///
/// A pool holds one kind of memory (`VulkanBuffer.Placement`): host-visible for tensors on UMA
/// devices and for staging buffers, device-local for tensors on discrete GPUs (see
/// `VulkanMemoryStrategy`). The staging pool uses the same epochs: a staging region filled by the
/// host is reused only once the batch that copied from it has completed.
final class TensorMemoryPool: @unchecked Sendable {
    let device: VulkanDevice
    let placement: VulkanBuffer.Placement
    let blockBytes: Int
    /// Region offsets are multiples of this (≥ minStorageBufferOffsetAlignment), so a tensor's start
    /// can always be bound directly.
    let alignment: Int
    private let lock = NSLock()
    private var blocks: [VulkanBuffer] = []
    private var bumpBlock: VulkanBuffer?
    private var bumpUsed = 0
    private var free: [Int: [(region: BufferRegion, epoch: UInt64)]] = [:]
    private var recording: UInt64 = 1
    private var completed: UInt64 = 0
    private var reservedBytes = 0

    init(device: VulkanDevice, placement: VulkanBuffer.Placement = .hostVisible, blockBytes: Int = 64 << 20) {
        self.device = device
        self.placement = placement
        let limit = device.capabilities.maxMemoryAllocationSize
        self.blockBytes = limit > 0 ? min(blockBytes, limit) : blockBytes
        self.alignment = max(256, device.capabilities.minStorageBufferOffsetAlignment)
    }

    /// Bytes of device memory the pool holds (blocks and dedicated buffers).
    var deviceBytes: Int { lock.withLock { reservedBytes } }

    var recordingEpoch: UInt64 { lock.withLock { recording } }

    /// The batch being recorded was submitted: later releases belong to the next one.
    func beginEpoch() -> UInt64 {
        lock.withLock {
            recording += 1
            return recording
        }
    }

    /// Every batch up to `epoch` has completed on the device.
    func complete(through epoch: UInt64) {
        lock.withLock { completed = max(completed, epoch) }
    }

    /// Power-of-two buckets in quarter steps (at most 25% slack), at least 256 bytes.
    static func bucket(_ bytes: Int) -> Int {
        if bytes <= 256 { return 256 }
        let base = 1 << (Int.bitWidth - 1 - (bytes - 1).leadingZeroBitCount)  // base < bytes ≤ 2·base
        let quarter = base / 4
        return base + (bytes - base + quarter - 1) / quarter * quarter
    }

    /// A region of at least `bytes`. `hostWrites`: the host will write it before the next submit,
    /// so it must not be in use by any unfinished batch.
    func allocate(_ bytes: Int, hostWrites: Bool) throws(VulkanError) -> BufferRegion {
        let size = Self.bucket(bytes)
        lock.lock()
        defer { lock.unlock() }
        if var list = free[size], !list.isEmpty {
            let index = hostWrites ? list.lastIndex { $0.epoch <= completed } : list.indices.last
            if let index {
                let region = list.remove(at: index).region
                free[size] = list
                return region
            }
        }
        if size > blockBytes / 4 {
            let buffer = try VulkanBuffer(device: device, byteCount: size, placement: placement)
            reservedBytes += size
            return BufferRegion(buffer: buffer, offset: 0, capacity: size)
        }
        var offset = (bumpUsed + alignment - 1) / alignment * alignment
        if bumpBlock == nil || offset + size > blockBytes {
            let block = try VulkanBuffer(device: device, byteCount: blockBytes, placement: placement)
            blocks.append(block)
            reservedBytes += blockBytes
            bumpBlock = block
            offset = 0
        }
        bumpUsed = offset + size
        return BufferRegion(buffer: bumpBlock!, offset: offset, capacity: size)
    }

    /// Frees the cached dedicated buffers no batch can still use (blocks stay: their regions are
    /// not tracked as a whole). Returns the bytes freed.
    @discardableResult
    func trim() -> Int {
        lock.withLock {
            var freed = 0
            for (size, list) in free {
                let idle = { (entry: (region: BufferRegion, epoch: UInt64)) in entry.region.isDedicated && entry.epoch <= self.completed }
                freed += list.filter(idle).count * size
                free[size] = list.filter { !idle($0) }
            }
            reservedBytes -= freed
            return freed
        }
    }

    /// Back to its bucket, tagged with the batch being recorded (the last that can use it).
    func release(_ region: BufferRegion) {
        lock.withLock { free[region.capacity, default: []].append((region, recording)) }
    }
}
