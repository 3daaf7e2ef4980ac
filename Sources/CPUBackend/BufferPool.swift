import Foundation

/// Reuses activation buffers by size bucket (powers of two), so that a forward pass does not hit the
/// allocator once per op: a buffer returns to its bucket when the tensor holding it is released.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0
    /// Buffers kept for reuse beyond this are freed.
    let limitBytes: Int

    /// Buffers above this many floats (64 MB) are allocated to size and given back to the system
    /// when released: a video VAE's frame-sized activations would otherwise sit in the pool (and
    /// in the resident set) long after their layer ran, and rounding them to a power of two would
    /// waste up to half. Their page faults cost far less than the convolutions that fill them.
    static let largeCount = 16 << 20

    init(limitBytes: Int = 4 << 30) { self.limitBytes = limitBytes }

    deinit {
        for list in free.values { for pointer in list { pointer.deallocate() } }
    }

    static func bucket(_ count: Int) -> Int {
        count <= 64 ? 64 : 1 << (Int.bitWidth - (count - 1).leadingZeroBitCount)
    }

    func take(_ count: Int) -> (UnsafeMutablePointer<Float>, capacity: Int) {
        if count > Self.largeCount { return (UnsafeMutablePointer<Float>.allocate(capacity: count), count) }
        let size = Self.bucket(count)
        if let pointer = lock.withLock({ () -> UnsafeMutablePointer<Float>? in
            guard let pointer = free[size]?.popLast() else { return nil }
            cachedBytes -= size * 4
            return pointer
        }) { return (pointer, size) }
        return (UnsafeMutablePointer<Float>.allocate(capacity: size), size)
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let kept = capacity <= Self.largeCount && lock.withLock { () -> Bool in
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
