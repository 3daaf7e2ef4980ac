import Dispatch
import Foundation

/// Splits `0..<count` into contiguous ranges run on all cores (`minChunk` items at least per range).
/// The body writes disjoint outputs per range; it need not be Sendable (it is not stored).
func parallelRanges(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let chunks = max(1, min(cores * 4, count / max(minChunk, 1)))
    if chunks == 1 { if count > 0 { body(0 ..< count) }; return }
    let size = (count + chunks - 1) / chunks
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { i in
            let range = min(count, i * size) ..< min(count, (i + 1) * size)
            if !range.isEmpty { task.value(range) }
        }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A pointer that concurrently running ranges write through; each range writes disjoint elements.
struct SharedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    subscript(i: Int) -> T {
        get { pointer[i] }
        nonmutating set { pointer[i] = newValue }
    }
}
