import Foundation

/// Records the backend's dispatches into command buffers and submits them in batches: a batch goes
/// to the queue when it holds `dispatchesPerSubmit` dispatches, or when the host needs a result
/// (`synchronize`). Two recorders alternate, so the host records batch n + 1 while the device runs
/// batch n; a batch starts with a barrier, so it sees everything earlier batches wrote.
///
/// Each batch is an epoch of the memory pools (tensors and staging): regions released while it
/// records may still be read by it, and only become available for host writes once it has
/// completed (see TensorMemoryPool). Copies (staged uploads) also end a batch once it has copied
/// `copyBytesPerSubmit`, so a long upload — a whole model's weights — recycles a bounded amount of
/// staging memory instead of holding all of it until the next read.
final class BatchScheduler {
    let device: VulkanDevice
    let pools: [TensorMemoryPool]
    let dispatchesPerSubmit: Int
    let copyBytesPerSubmit: Int
    let profiler: DispatchProfiler?
    private let recorders: [CommandRecorder]
    private var epochs: [UInt64]
    private var current = 0
    private var copiedBytes = 0

    /// - Parameter pools: the pools whose epochs follow the batches; they start in step (a fresh
    ///   pool's recording epoch is 1).
    init(device: VulkanDevice, pools: [TensorMemoryPool], dispatchesPerSubmit: Int, copyBytesPerSubmit: Int = 64 << 20,
         profiler: DispatchProfiler?) throws(VulkanError) {
        self.device = device
        self.pools = pools
        self.dispatchesPerSubmit = max(1, dispatchesPerSubmit)
        self.copyBytesPerSubmit = max(1, copyBytesPerSubmit)
        self.profiler = profiler
        var recorders: [CommandRecorder] = []
        for _ in 0 ..< 2 {
            let recorder = try CommandRecorder(device: device, timestamps: profiler != nil, maxTimedDispatches: self.dispatchesPerSubmit)
            recorder.barrierBeforeFirstDispatch = true
            recorders.append(recorder)
        }
        self.recorders = recorders
        epochs = [pools[0].recordingEpoch, 0]
    }

    /// Dispatches recorded and not yet submitted.
    var pendingDispatches: Int { recorders[current].dispatchCount }

    func dispatch(_ pipeline: ComputePipeline, _ bindings: [BufferBinding], push: [UInt32], groups: WorkgroupCount, label: String) throws(VulkanError) {
        if recorders[current].dispatchCount >= dispatchesPerSubmit { try submitAndSwitch() }
        try recorders[current].dispatch(pipeline, bindings: bindings, pushWords: push, groups: groups, label: label)
    }

    /// Records a copy between two regions (a staged upload or read-back), ordered with the dispatches.
    func copy(from source: BufferRegion, sourceOffset: Int = 0, to destination: BufferRegion, destinationOffset: Int = 0,
              bytes: Int) throws(VulkanError) {
        try recorders[current].copy(from: source.buffer, offset: source.offset + sourceOffset,
                                    to: destination.buffer, offset: destination.offset + destinationOffset, bytes: bytes)
        copiedBytes += bytes
        if copiedBytes >= copyBytesPerSubmit { try submitAndSwitch() }
    }

    /// Submits the batch being recorded (without waiting for it) and continues on the other
    /// recorder, once the batch that recorder last held has completed.
    private func submitAndSwitch() throws(VulkanError) {
        try recorders[current].submit()
        let other = 1 - current
        try finish(other)
        current = other
        beginEpoch()
    }

    private func beginEpoch() {
        copiedBytes = 0
        let epochs = pools.map { $0.beginEpoch() }
        precondition(Set(epochs).count == 1, "memory pools out of step: epochs \(epochs)")
        self.epochs[current] = epochs[0]
    }

    private func complete(through epoch: UInt64) {
        for pool in pools { pool.complete(through: epoch) }
    }

    private func finish(_ index: Int) throws(VulkanError) {
        guard recorders[index].inFlight else { return }
        let timings = try recorders[index].wait()
        complete(through: epochs[index])
        profiler?.record(timings)
    }

    /// Submits what is recorded and waits until the device has finished all of it.
    func synchronize() throws(VulkanError) {
        try recorders[current].submit()
        try finish(1 - current)  // the older batch first
        try finish(current)
        complete(through: epochs[current])
        beginEpoch()
    }
}

/// Per-op GPU times from timestamp queries (`VACEKIT_PROFILE=1`): each completed batch is printed,
/// aggregated by op label, to standard error; totals are kept for benchmarks.
final class DispatchProfiler: @unchecked Sendable {
    struct Total: Sendable {
        var count = 0
        var seconds = 0.0
    }

    let prints: Bool
    private let lock = NSLock()
    private var totals: [String: Total] = [:]

    init(prints: Bool) { self.prints = prints }

    func record(_ timings: [DispatchTiming]) {
        guard !timings.isEmpty else { return }
        var batch: [String: Total] = [:]
        for timing in timings {
            batch[timing.label, default: Total()].count += 1
            batch[timing.label, default: Total()].seconds += timing.seconds
        }
        lock.withLock {
            for (label, total) in batch {
                totals[label, default: Total()].count += total.count
                totals[label, default: Total()].seconds += total.seconds
            }
        }
        guard prints else { return }
        let sum = batch.values.reduce(0) { $0 + $1.seconds }
        var lines = [String(format: "vulkan profile: %d dispatches, %.3f ms GPU", timings.count, sum * 1e3)]
        for (label, total) in batch.sorted(by: { $0.value.seconds > $1.value.seconds }) {
            let name = label.count < 24 ? label.padding(toLength: 24, withPad: " ", startingAt: 0) : label
            lines.append("  " + name + String(format: " %6d× %10.3f ms", total.count, total.seconds * 1e3))
        }
        FileHandle.standardError.write((lines.joined(separator: "\n") + "\n").data(using: .utf8)!)
    }

    /// Totals since the last reset, by op label.
    func takeTotals() -> [String: Total] {
        lock.withLock {
            defer { totals.removeAll() }
            return totals
        }
    }
}
