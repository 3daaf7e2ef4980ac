import Foundation

/// Reuses activation buffers by size bucket (powers of two), so that a forward pass does not hit the
/// allocator once per op: a buffer returns to its bucket when the tensor holding it is released.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0
    /// Buffers kept for reuse beyond this are freed.
    let limitBytes: Int

    /// Buffers above this many floats (16 MB) are mapped to size and given back to the system when
    /// released: a video VAE's frame-sized activations would otherwise sit in the pool (and in the
    /// resident set) long after their layer ran, and rounding them to a power of two would waste up
    /// to half. They ask for transparent huge pages: a fresh 38 MB buffer (a DiT feed-forward's
    /// hidden layer at 1170 tokens) then faults in 2 MB at a time, not 4 KB, which under a hypervisor
    /// had cost as much as the GEMM writing it (86 ms per call against 49 ms on a reused buffer).
    static let largeCount = 4 << 20

    /// An anonymous mapping of `count` floats (zeroed by the system) with huge pages asked for.
    private static func mapLarge(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = count * MemoryLayout<Float>.stride
        let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { fatalError("out of memory: could not map \(bytes >> 20) MB for an activation") }
        _ = madvise(raw, bytes, MADV_HUGEPAGE)  // a hint: without THP (or with it off) the pages stay 4 KB
        return raw.bindMemory(to: Float.self, capacity: count)
    }

    /// 512 MB covers every activation size of a DiT step several times over; more would only keep
    /// the frame-sized buffers of a VAE resident after their stage ran.
    init(limitBytes: Int = 512 << 20) { self.limitBytes = limitBytes }

    deinit {
        for list in free.values { for pointer in list { pointer.deallocate() } }
    }

    static func bucket(_ count: Int) -> Int {
        count <= 64 ? 64 : 1 << (Int.bitWidth - (count - 1).leadingZeroBitCount)
    }

    func take(_ count: Int) -> (UnsafeMutablePointer<Float>, capacity: Int) {
        if count > Self.largeCount { return (Self.mapLarge(count), count) }
        let size = Self.bucket(count)
        if let pointer = lock.withLock({ () -> UnsafeMutablePointer<Float>? in
            guard let pointer = free[size]?.popLast() else { return nil }
            cachedBytes -= size * 4
            return pointer
        }) { return (pointer, size) }
        return (UnsafeMutablePointer<Float>.allocate(capacity: size), size)
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        if capacity > Self.largeCount {
            munmap(UnsafeMutableRawPointer(pointer), capacity * MemoryLayout<Float>.stride)
            return
        }
        let kept = lock.withLock { () -> Bool in
            guard cachedBytes + capacity * 4 <= limitBytes else { return false }
            free[capacity, default: []].append(pointer)
            cachedBytes += capacity * 4
            return true
        }
        if !kept { pointer.deallocate() }
    }
}

/// An f32 activation buffer from the pool; returned to it on release.
final class HostBuffer: TensorStorageBase, @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let capacity: Int
    private let pool: BufferPool

    init(count: Int, pool: BufferPool) {
        (pointer, capacity) = pool.take(max(count, 1))
        self.count = count
        self.pool = pool
    }

    deinit { pool.give(pointer, capacity: capacity) }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
