import Foundation

/// Records the backend's dispatches into command buffers and submits them in batches: a batch goes
/// to the queue when it holds `dispatchesPerSubmit` dispatches, or when the host needs a result
/// (`synchronize`). Two recorders alternate, so the host records batch n + 1 while the device runs
/// batch n; a batch starts with a barrier, so it sees everything earlier batches wrote.
///
/// Each batch is an epoch of the memory pool: regions released while it records may still be read
/// by it, and only become available for host writes once it has completed (see TensorMemoryPool).
final class BatchScheduler {
    let device: VulkanDevice
    let pool: TensorMemoryPool
    let dispatchesPerSubmit: Int
    let profiler: DispatchProfiler?
    private let recorders: [CommandRecorder]
    private var epochs: [UInt64]
    private var current = 0

    init(device: VulkanDevice, pool: TensorMemoryPool, dispatchesPerSubmit: Int, profiler: DispatchProfiler?) throws(VulkanError) {
        self.device = device
        self.pool = pool
        self.dispatchesPerSubmit = max(1, dispatchesPerSubmit)
        self.profiler = profiler
        var recorders: [CommandRecorder] = []
        for _ in 0 ..< 2 {
            let recorder = try CommandRecorder(device: device, timestamps: profiler != nil, maxTimedDispatches: self.dispatchesPerSubmit)
            recorder.barrierBeforeFirstDispatch = true
            recorders.append(recorder)
        }
        self.recorders = recorders
        epochs = [pool.recordingEpoch, 0]
    }

    /// Dispatches recorded and not yet submitted.
    var pendingDispatches: Int { recorders[current].dispatchCount }

    func dispatch(_ pipeline: ComputePipeline, _ bindings: [BufferBinding], push: [UInt32], groups: WorkgroupCount, label: String) throws(VulkanError) {
        if recorders[current].dispatchCount >= dispatchesPerSubmit { try submitAndSwitch() }
        try recorders[current].dispatch(pipeline, bindings: bindings, pushWords: push, groups: groups, label: label)
    }

    /// Submits the batch being recorded (without waiting for it) and continues on the other
    /// recorder, once the batch that recorder last held has completed.
    private func submitAndSwitch() throws(VulkanError) {
        try recorders[current].submit()
        let other = 1 - current
        try finish(other)
        current = other
        epochs[current] = pool.beginEpoch()
    }

    private func finish(_ index: Int) throws(VulkanError) {
        guard recorders[index].inFlight else { return }
        let timings = try recorders[index].wait()
        pool.complete(through: epochs[index])
        profiler?.record(timings)
    }

    /// Submits what is recorded and waits until the device has finished all of it.
    func synchronize() throws(VulkanError) {
        try recorders[current].submit()
        try finish(1 - current)  // the older batch first
        try finish(current)
        pool.complete(through: epochs[current])
        epochs[current] = pool.beginEpoch()
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
