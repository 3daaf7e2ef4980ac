import Foundation
import Tensors

/// The op contract (`Backend`) on a Vulkan 1.2 device.
///
/// - Memory: tensors live in pooled device memory (`TensorMemoryPool`): host-visible on UMA devices,
///   device-local with staged copies on discrete GPUs (`VulkanMemoryStrategy`). Activations are
///   contiguous f32, or f16 when created with `activations: .f16` on a device with 16-bit storage;
///   weights keep their stored form (f32, f16, bf16, q8 + f16 scales) and are dequantized inside
///   the kernels.
/// - Execution: ops record dispatches (`BatchScheduler`); the queue sees a batch every
///   `dispatchesPerSubmit` dispatches, and the host waits only in `floats` (or `synchronize`).
/// - Precision: every kernel computes in f32 (accumulation, statistics, softmax); f16 is a storage
///   format only, so devices without f16 arithmetic run the f16 path too.
/// - Limits: no binding exceeds `maxBindingBytes` (the device's maxStorageBufferRange unless set
///   lower, e.g. by tests): large tensors are bound by windows and ops split (`BindingWindows`).
///
/// Op families live in `VulkanBackend+Linear.swift`, `+Elementwise`, `+Norms`, `+Attention`,
/// `+Conv`, `+Layout`; shaders in `Shaders/<family>.glsl`. Thread-safe: ops are serialised by a lock.
public final class VulkanBackend: Backend, @unchecked Sendable {
    public enum Activations: String, Sendable {
        case f32, f16
    }

    public let device: VulkanDevice
    /// The activation type in use (f16 only when asked for and the device has 16-bit storage).
    public let activations: Activations
    /// How `linear` meets q8 weights: W8A16, or W8A8 through the integer dot product (`Q8Mode`).
    public let q8Mode: Q8Mode
    /// The largest byte range bound to one shader binding.
    public let maxBindingBytes: Int
    /// Where tensors live: unified (host-visible) or staged (device-local + staging copies).
    public let memory: VulkanMemoryStrategy
    let pool: TensorMemoryPool
    /// Host-visible regions for staged uploads and read-backs (unused with unified memory).
    let stagingPool: TensorMemoryPool
    let pipelines: PipelineCache
    let scheduler: BatchScheduler
    let profiler: DispatchProfiler?
    let lock = NSRecursiveLock()

    /// Environment variable that turns on per-op GPU timing, printed at each completed batch.
    public static let profileEnvironmentVariable = "VACEKIT_PROFILE"

    /// - Parameters:
    ///   - activations: `.f16` halves activation memory and bandwidth (f32 math throughout); falls
    ///     back to f32 on devices without storageBuffer16BitAccess.
    ///   - q8Mode: W8A8 or W8A16 for q8 weights (default: `VACEKIT_Q8_MODE`, else automatic).
    ///   - maxBindingBytes: bind at most this many bytes per binding (default and upper bound: the
    ///     device's maxStorageBufferRange). Tests set it low to exercise the splitting paths.
    ///   - memory: unified or staged tensor memory (default: `VACEKIT_VK_MEMORY`, else by device type).
    ///   - dispatchesPerSubmit: dispatches per command buffer before it is submitted.
    ///   - copyBytesPerSubmit: staged bytes copied per command buffer before it is submitted (bounds
    ///     the staging memory a long upload holds: about twice this).
    ///   - profile: time every dispatch (default: `VACEKIT_PROFILE=1`); `printProfile` prints the
    ///     per-op times at each completed batch.
    public init(device: VulkanDevice, activations: Activations = .f32, q8Mode: Q8Mode? = nil, maxBindingBytes: Int? = nil, memory: VulkanMemoryStrategy? = nil,
                dispatchesPerSubmit: Int = 256, copyBytesPerSubmit: Int = 64 << 20,
                profile: Bool = ProcessInfo.processInfo.environment[VulkanBackend.profileEnvironmentVariable] == "1",
                printProfile: Bool = true) throws {
        let caps = device.capabilities
        self.device = device
        self.q8Mode = q8Mode ?? .environment
        self.activations = activations == .f16 && device.enabledFeatures.storageBuffer16BitAccess ? .f16 : .f32
        let range = caps.maxStorageBufferRange > 0 ? caps.maxStorageBufferRange : Int(Int32.max)
        self.maxBindingBytes = min(maxBindingBytes ?? range, range)
        guard self.maxBindingBytes >= 4096 else { throw VulkanError.invalidUse("maxBindingBytes \(self.maxBindingBytes) is below 4096") }
        self.memory = try memory ?? VulkanMemoryStrategy.resolve(for: caps)
        pool = TensorMemoryPool(device: device, placement: self.memory.tensorPlacement)
        // 16 MiB blocks: a full staging piece (`stagingPieceBytes`) gets a buffer of its own, which
        // `releaseCachedMemory` can free.
        stagingPool = TensorMemoryPool(device: device, placement: .staging, blockBytes: 16 << 20)
        pipelines = PipelineCache(device: device, halfActivations: self.activations == .f16)
        profiler = profile ? DispatchProfiler(prints: printProfile) : nil
        scheduler = try BatchScheduler(device: device, pools: [pool, stagingPool], dispatchesPerSubmit: dispatchesPerSubmit,
                                       copyBytesPerSubmit: copyBytesPerSubmit, profiler: profiler)
    }

    /// A backend on the device `VACEKIT_DEVICE` (or the automatic choice) picks.
    public convenience init(activations: Activations = .f32) throws {
        try self.init(device: VulkanDevice(), activations: activations)
    }

    public var name: String {
        "vulkan: \(device.capabilities.name)" + (activations == .f16 ? " (f16 activations)" : "") + (memory == .staged ? " (staged memory)" : "")
    }

    var activationDType: DType { activations == .f16 ? .f16 : .f32 }
    var halfActivations: Bool { activations == .f16 }

    /// Slack of a window whose start is rounded down to the binding alignment (and its size up to words).
    var windowSlack: Int { pool.alignment + 4 }

    /// Submits everything recorded and waits for the device.
    public func synchronize() throws {
        try lock.withLock { try scheduler.synchronize() }
    }

    /// Device memory held for tensors: blocks, dedicated buffers and the cache of released regions.
    public var deviceMemoryBytes: Int { pool.deviceBytes }

    /// Host-visible memory held for staging (zero with unified memory).
    public var stagingMemoryBytes: Int { stagingPool.deviceBytes }

    /// Waits for the device, then frees the cached buffers of released large tensors (for example
    /// between the transformer and the VAE, whose tensor sizes differ). Returns the bytes freed.
    @discardableResult
    public func releaseCachedMemory() throws -> Int {
        try lock.withLock {
            try scheduler.synchronize()
            return pool.trim() + stagingPool.trim()
        }
    }

    /// GPU time per op label since the last call (profiling backends only).
    public func takeProfile() -> [String: (count: Int, seconds: Double)] {
        (profiler?.takeTotals() ?? [:]).mapValues { ($0.count, $0.seconds) }
    }

    // MARK: storage

    /// A new contiguous activation of `shape`, written by a kernel.
    func makeActivation(_ shape: Shape) throws -> (Tensor, VulkanTensorStorage) {
        let bytes = max(shape.count * activationDType.elementSize, 4)
        let region = try pool.allocate(bytes, hostWrites: false)
        let storage = VulkanTensorStorage(pool: pool, region: region, byteCount: bytes, dtype: activationDType, isWeight: false)
        return (Tensor(shape: shape, dtype: activationDType, storage: storage), storage)
    }

    func storage(_ t: Tensor, _ op: String) throws -> VulkanTensorStorage {
        guard let storage = t.storage as? VulkanTensorStorage, storage.pool === pool else {
            throw TensorError(op, "tensor \(t.shape) does not belong to this Vulkan backend")
        }
        return storage
    }

    /// `t` as a kernel input: activations as they are; weights as stored when the kernels can read
    /// that type directly (f32; f16 with f16 activations), else an f32 copy made once and kept.
    func operand(_ t: Tensor, _ op: String) throws -> VulkanTensorStorage {
        let stored = try storage(t, op)
        guard stored.isWeight, needsOperandView(stored.dtype) else { return stored }
        return try stored.operandView {
            let values = try withHostBytes(stored) { bytes, scales in
                WeightDecoding.floats(stored.dtype, bytes: bytes, scales: scales, count: t.count, shape: stored.storedShape ?? t.shape)
            }
            return try f32Weight(values)
        }
    }

    /// Whether a weight needs an activation-typed copy to be used as an operand.
    func needsOperandView(_ dtype: DType) -> Bool {
        dtype != .f32 && !(dtype == .f16 && halfActivations)
    }

    /// Staged memory: weights that are likely operands get their operand copy from the host bytes
    /// at upload — vectors (biases, norm scales) and small tables of a few rows (adaLN modulation
    /// tables, [1, 6, C] or [6, C]); matrices and conv kernels are read in their stored form.
    func decodesOperandAtUpload(_ data: WeightData) -> Bool {
        guard needsOperandView(data.dtype), data.shape.count > 0, data.shape.count <= 1 << 16 else { return false }
        return data.shape.rank <= 1 || data.shape.dims.dropLast().reduce(1, *) <= 8
    }

    /// An f32 weight tensor's storage holding `values`.
    private func f32Weight(_ values: [Float]) throws -> VulkanTensorStorage {
        let region = try pool.allocate(max(values.count * 4, 4), hostWrites: memory == .unified)
        try values.withUnsafeBytes { try upload($0, into: region) }
        return VulkanTensorStorage(pool: pool, region: region, byteCount: values.count * 4, dtype: .f32, isWeight: true)
    }

    /// The binding of elements `elements` of a tensor's storage, and the element the range starts at
    /// inside the binding.
    func bind(_ storage: VulkanTensorStorage, _ elements: Range<Int>) -> (binding: BufferBinding, base: UInt32) {
        let size = storage.elementSize
        let (binding, base) = VulkanTensorStorage.binding(storage.region, bytes: elements.lowerBound * size ..< elements.upperBound * size,
                                                          elementSize: size, alignment: pool.alignment)
        return (binding, UInt32(base))
    }

    /// A binding of the whole of a small tensor (a bias, a table); throws if it exceeds the limit.
    func bindWhole(_ storage: VulkanTensorStorage, count: Int, _ op: String) throws -> (binding: BufferBinding, base: UInt32) {
        guard count * storage.elementSize + windowSlack <= maxBindingBytes else {
            throw TensorError(op, "a tensor of \(count) elements exceeds the device's binding range of \(maxBindingBytes) bytes")
        }
        return bind(storage, 0 ..< max(count, 1))
    }

    // MARK: recording

    func record(_ family: KernelFamily, specialization: [UInt32: UInt32] = [:], _ bindings: [BufferBinding], push: [UInt32],
                groups: WorkgroupCount, label: String) throws {
        let pipeline = try pipelines.pipeline(family, specialization: specialization)
        try scheduler.dispatch(pipeline, bindings, push: push, groups: groups, label: label)
    }

    /// Workgroups for `count` invocations of a 1-D kernel, spilling into y past 65535 groups
    /// (the shaders' `linearInvocation`).
    func groups1D(_ count: Int, groupSize: Int = KernelFamily.elementGroupSize) throws -> WorkgroupCount {
        try groups(ofItems: (count + groupSize - 1) / groupSize)
    }

    /// `items` workgroups laid out as x (up to the device limit) × y.
    func groups(ofItems items: Int) throws -> WorkgroupCount {
        let limit = device.capabilities.maxComputeWorkGroupCount
        let x = max(1, min(items, limit[0]))
        let y = (items + x - 1) / x
        guard y <= limit[1] else { throw VulkanError.limitExceeded("\(items) workgroups") }
        return WorkgroupCount(x: x, y: max(y, 1))
    }

    // MARK: data movement

    public func tensor(_ values: [Float], _ shape: Shape) throws -> Tensor {
        try OpShapes.tensor(count: values.count, shape)
        return try lock.withLock {
            let bytes = max(values.count * activationDType.elementSize, 4)
            let region = try pool.allocate(bytes, hostWrites: memory == .unified)
            if halfActivations {
                try values.map(Float16.init).withUnsafeBytes { try upload($0, into: region) }
            } else {
                try values.withUnsafeBytes { try upload($0, into: region) }
            }
            let storage = VulkanTensorStorage(pool: pool, region: region, byteCount: bytes, dtype: activationDType, isWeight: false)
            return Tensor(shape: shape, dtype: activationDType, storage: storage)
        }
    }

    public func floats(_ t: Tensor) throws -> [Float] {
        try lock.withLock {
            let stored = try storage(t, "floats")
            return try withHostBytes(stored) { bytes, scales in
                WeightDecoding.floats(stored.dtype, bytes: bytes, scales: scales, count: t.count, shape: stored.storedShape ?? t.shape)
            }
        }
    }

    public func weight(_ data: WeightData) throws -> Tensor {
        guard data.data.count == data.shape.count * data.dtype.elementSize else {
            throw TensorError("weight", "\(data.name): \(data.data.count) bytes for \(data.shape) of \(data.dtype)")
        }
        var scaleBytes = 0
        if case .q8 = data.dtype {
            let (rows, _, groupsPerRow) = WeightDecoding.q8Layout(data.dtype, shape: data.shape)
            scaleBytes = rows * groupsPerRow * 2
            guard let scales = data.scales, scales.count == scaleBytes else {
                throw TensorError("weight", "\(data.name): q8 needs \(scaleBytes) bytes of f16 scales, got \(data.scales?.count ?? 0)")
            }
        }
        return try lock.withLock {
            let region = try pool.allocate(max(data.data.count, 4), hostWrites: memory == .unified)
            try upload(data.data, into: region)
            var scales: BufferRegion?
            if scaleBytes > 0, let source = data.scales {
                let region = try pool.allocate(scaleBytes, hostWrites: memory == .unified)
                try upload(source, into: region)
                scales = region
            }
            let storage = VulkanTensorStorage(pool: pool, region: region, byteCount: data.data.count, dtype: data.dtype, isWeight: true, scales: scales,
                                              scaleByteCount: scaleBytes, storedShape: data.shape, q8Activations: data.q8Activations)
            if memory == .staged, decodesOperandAtUpload(data) {
                // Reading a device-local weight back to decode it later would stall the queue mid-pass.
                _ = try storage.operandView {
                    try f32Weight(WeightDecoding.floats(data.dtype, bytes: data.data.baseAddress!, scales: data.scales?.baseAddress,
                                                        count: data.shape.count, shape: data.shape))
                }
            }
            return Tensor(shape: data.shape, dtype: data.dtype, storage: storage)
        }
    }

    public func reshape(_ x: Tensor, _ shape: Shape) throws -> Tensor {
        _ = try OpShapes.reshape(x.shape, to: shape)
        return Tensor(shape: shape, dtype: x.dtype, storage: x.storage)
    }
}

/// Stored bytes → f32 on the host (for `floats` and for weights used as kernel operands).
enum WeightDecoding {
    /// q8: (rows, columns, scales per row); a group that does not divide a row means one scale per
    /// row, as on the CPU backend.
    static func q8Layout(_ dtype: DType, shape: Shape) -> (rows: Int, group: Int, groupsPerRow: Int) {
        let rows = shape.dims.first ?? 1, columns = max(shape.dims.dropFirst().reduce(1, *), 1)
        guard case .q8(let requested) = dtype else { return (rows, columns, 1) }
        let group = requested == 0 || columns % requested != 0 ? columns : requested
        return (rows, group, columns / group)
    }

    static func floats(_ dtype: DType, bytes: UnsafeRawPointer, scales: UnsafeRawPointer?, count: Int, shape: Shape) -> [Float] {
        switch dtype {
        case .f32:
            return Array(UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: Float.self), count: count))
        case .f16:
            let halves = bytes.assumingMemoryBound(to: Float16.self)
            return (0 ..< count).map { Float(halves[$0]) }
        case .bf16:
            let words = bytes.assumingMemoryBound(to: UInt16.self)
            return (0 ..< count).map { Float(bitPattern: UInt32(words[$0]) << 16) }
        case .q8:
            let (_, group, _) = q8Layout(dtype, shape: shape)
            let q = bytes.assumingMemoryBound(to: Int8.self)
            let scales = scales!.assumingMemoryBound(to: Float16.self)
            return (0 ..< count).map { Float(q[$0]) * Float(scales[$0 / group]) }
        }
    }
}
