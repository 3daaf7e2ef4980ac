import CVulkan

/// How many workgroups a dispatch launches along x, y and z.
public struct WorkgroupCount: Sendable, Hashable {
    public var x: Int
    public var y: Int
    public var z: Int

    public init(x: Int, y: Int = 1, z: Int = 1) {
        self.x = x
        self.y = y
        self.z = z
    }

    /// Enough groups of `groupSize` invocations to cover `count` elements along x.
    public static func covering(_ count: Int, groupSize: Int) -> WorkgroupCount {
        WorkgroupCount(x: (count + groupSize - 1) / groupSize)
    }
}

/// GPU time of one dispatch, from timestamp queries.
public struct DispatchTiming: Sendable, Equatable {
    public var label: String
    public var seconds: Double
}

/// Records dispatches into one command buffer and submits them together: the whole batch costs one
/// queue submission and one fence wait. Between consecutive dispatches it inserts a compute→compute
/// memory barrier, so each dispatch sees everything the previous ones wrote.
///
/// ```swift
/// let recorder = try CommandRecorder(device: device)
/// try recorder.dispatch(add, buffers: [a, b, c], pushConstants: UInt32(n), groups: .covering(n, groupSize: 64))
/// try recorder.submitAndWait()
/// ```
/// A recorder is used by one thread at a time; after `submitAndWait` it is empty and ready again.
/// `submit()` and `wait()` split the two, so the host can record into a second recorder while the
/// device runs the first (set `barrierBeforeFirstDispatch` so each batch sees the previous ones).
public final class CommandRecorder {
    public let device: VulkanDevice
    /// Dispatches recorded since the last submit.
    public private(set) var dispatchCount = 0
    /// Buffer copies recorded since the last submit.
    public private(set) var copyCount = 0
    public let timestampsEnabled: Bool
    private let maxTimedDispatches: Int
    private let commandPool: VkCommandPool
    private let commandBuffer: VkCommandBuffer
    private let fence: VkFence
    private let queryPool: VkQueryPool?
    private let descriptors: DescriptorAllocator
    private var recording = false
    /// A submit is in flight: `wait()` must run before the recorder records again.
    public private(set) var inFlight = false
    /// Put a compute→compute barrier before the first dispatch too, so that a batch sees what earlier
    /// batches on the same queue wrote (needed when batches are submitted without waiting in between).
    public var barrierBeforeFirstDispatch = false
    private var timedLabels: [String] = []
    /// Pipelines and buffers used by recorded work, kept alive until the GPU is done with them.
    private var retained: [AnyObject] = []

    /// - Parameter timestamps: time every dispatch (when the queue supports timestamps) and return
    ///   the times from `submitAndWait`; at most `maxTimedDispatches` per submit.
    public init(device: VulkanDevice, timestamps: Bool = false, maxTimedDispatches: Int = 1024) throws(VulkanError) {
        let vkDevice = device.handle
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT.rawValue
        poolInfo.queueFamilyIndex = device.queueFamilyIndex
        var pool: VkCommandPool?
        try vkCheck(vkCreateCommandPool(vkDevice, &poolInfo, nil, &pool), "vkCreateCommandPool")
        guard let pool else { throw VulkanError.call("vkCreateCommandPool", result: "returned no pool") }

        var bufferInfo = VkCommandBufferAllocateInfo()
        bufferInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        bufferInfo.commandPool = pool
        bufferInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        bufferInfo.commandBufferCount = 1
        var buffer: VkCommandBuffer?
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        var result = vkAllocateCommandBuffers(vkDevice, &bufferInfo, &buffer)
        if result == VK_SUCCESS { result = vkCreateFence(vkDevice, &fenceInfo, nil, &fence) }
        guard result == VK_SUCCESS, let buffer, let fence else {
            vkDestroyCommandPool(vkDevice, pool, nil)
            throw VulkanError.call("creating a command buffer and fence", result: vkResultName(result))
        }

        var queryPool: VkQueryPool?
        if timestamps && device.capabilities.computeQueueTimestamps {
            var queryInfo = VkQueryPoolCreateInfo()
            queryInfo.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
            queryInfo.queryType = VK_QUERY_TYPE_TIMESTAMP
            queryInfo.queryCount = UInt32(2 * maxTimedDispatches)
            let queryResult = vkCreateQueryPool(vkDevice, &queryInfo, nil, &queryPool)
            if queryResult != VK_SUCCESS {
                vkDestroyFence(vkDevice, fence, nil)
                vkDestroyCommandPool(vkDevice, pool, nil)
                throw VulkanError.call("vkCreateQueryPool", result: vkResultName(queryResult))
            }
        }
        self.device = device
        self.commandPool = pool
        self.commandBuffer = buffer
        self.fence = fence
        self.queryPool = queryPool
        self.timestampsEnabled = queryPool != nil
        self.maxTimedDispatches = maxTimedDispatches
        self.descriptors = DescriptorAllocator(device: device)
    }

    deinit {
        if inFlight { vkWaitForFences(device.handle, 1, [fence], VK_TRUE, UInt64.max) }
        if let queryPool { vkDestroyQueryPool(device.handle, queryPool, nil) }
        vkDestroyFence(device.handle, fence, nil)
        vkDestroyCommandPool(device.handle, commandPool, nil)
    }

    /// Records `pipeline` over `groups` with whole buffers bound to bindings 0, 1, 2, … in order.
    public func dispatch(_ pipeline: ComputePipeline, buffers: [VulkanBuffer], groups: WorkgroupCount, label: String? = nil) throws(VulkanError) {
        try record(pipeline, bindings: buffers.map { BufferBinding($0) }, pushConstants: nil, groups: groups, label: label)
    }

    /// Records `pipeline` with push constants; `P` must be exactly the shader's push-constant block
    /// (a scalar, or a struct of 4-byte fields in declaration order).
    public func dispatch<P: BitwiseCopyable>(
        _ pipeline: ComputePipeline, buffers: [VulkanBuffer], pushConstants: P, groups: WorkgroupCount, label: String? = nil
    ) throws(VulkanError) {
        try dispatch(pipeline, bindings: buffers.map { BufferBinding($0) }, pushConstants: pushConstants, groups: groups, label: label)
    }

    /// Records `pipeline` with explicit buffer ranges (for tensors split across `maxStorageBufferRange`).
    public func dispatch<P: BitwiseCopyable>(
        _ pipeline: ComputePipeline, bindings: [BufferBinding], pushConstants: P, groups: WorkgroupCount, label: String? = nil
    ) throws(VulkanError) {
        guard MemoryLayout<P>.size == pipeline.pushConstantSize else {
            throw VulkanError.invalidUse("\(pipeline.name): push constants of \(MemoryLayout<P>.size) bytes, the pipeline declares \(pipeline.pushConstantSize)")
        }
        let bytes = withUnsafeBytes(of: pushConstants) { Array($0) }
        try record(pipeline, bindings: bindings, pushConstants: bytes, groups: groups, label: label)
    }

    /// Records `pipeline` with push constants given as 32-bit words (floats as `bitPattern`), for
    /// kernels whose push-constant block is built at run time; the word count must match the pipeline.
    public func dispatch(_ pipeline: ComputePipeline, bindings: [BufferBinding], pushWords: [UInt32], groups: WorkgroupCount, label: String? = nil) throws(VulkanError) {
        guard pushWords.count * 4 == pipeline.pushConstantSize else {
            throw VulkanError.invalidUse("\(pipeline.name): push constants of \(pushWords.count * 4) bytes, the pipeline declares \(pipeline.pushConstantSize)")
        }
        let bytes = pushWords.withUnsafeBytes { Array($0) }
        try record(pipeline, bindings: bindings, pushConstants: bytes, groups: groups, label: label)
    }

    private func record(_ pipeline: ComputePipeline, bindings: [BufferBinding], pushConstants: [UInt8]?, groups: WorkgroupCount, label: String?) throws(VulkanError) {
        guard !inFlight else { throw VulkanError.invalidUse("recording into a command buffer that is still in flight (call wait() first)") }
        try validate(pipeline, bindings: bindings, pushConstants: pushConstants, groups: groups)
        try beginIfNeeded()
        let set = try descriptors.allocate(layout: pipeline.setLayout, bindingCount: pipeline.bindingCount)
        writeDescriptors(set, bindings: bindings)
        if dispatchCount + copyCount > 0 || barrierBeforeFirstDispatch {
            barrier(to: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue,
                    then: VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue)
        }
        var timed = false
        if let queryPool, timedLabels.count < maxTimedDispatches {
            vkCmdWriteTimestamp(commandBuffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queryPool, UInt32(2 * timedLabels.count))
            timed = true
        } else if queryPool != nil {
            throw VulkanError.limitExceeded("more than \(maxTimedDispatches) timed dispatches in one submit (raise maxTimedDispatches)")
        }
        vkCmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle)
        var sets: [VkDescriptorSet?] = [set]
        vkCmdBindDescriptorSets(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1, &sets, 0, nil)
        if let pushConstants, !pushConstants.isEmpty {
            vkCmdPushConstants(commandBuffer, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, UInt32(pushConstants.count), pushConstants)
        }
        vkCmdDispatch(commandBuffer, UInt32(groups.x), UInt32(groups.y), UInt32(groups.z))
        if timed, let queryPool {
            vkCmdWriteTimestamp(commandBuffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queryPool, UInt32(2 * timedLabels.count + 1))
            timedLabels.append(label ?? pipeline.name)
        }
        retained.append(pipeline)
        retained.append(contentsOf: bindings.map(\.buffer) as [AnyObject])
        dispatchCount += 1
    }

    /// Records a copy of `bytes` bytes between two buffers, ordered like a dispatch: after everything
    /// recorded (or submitted) before it, before everything recorded after it. Staged uploads and
    /// read-backs on discrete GPUs (`StagedTransfers`) go through here.
    public func copy(from source: VulkanBuffer, offset sourceOffset: Int = 0, to destination: VulkanBuffer, offset destinationOffset: Int = 0,
                     bytes: Int) throws(VulkanError) {
        guard !inFlight else { throw VulkanError.invalidUse("recording into a command buffer that is still in flight (call wait() first)") }
        guard source.device === device, destination.device === device else { throw VulkanError.invalidUse("copy between buffers of another device") }
        guard bytes > 0, sourceOffset >= 0, destinationOffset >= 0, sourceOffset + bytes <= source.byteCount,
            destinationOffset + bytes <= destination.byteCount
        else {
            throw VulkanError.invalidUse("copy of \(bytes) bytes from \(sourceOffset) of a \(source.byteCount)-byte buffer "
                + "to \(destinationOffset) of a \(destination.byteCount)-byte buffer")
        }
        try beginIfNeeded()
        if dispatchCount + copyCount > 0 || barrierBeforeFirstDispatch {
            // Earlier dispatches may still read the destination (a released and reused region) or
            // write the source: the copy waits for them.
            barrier(to: VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue, then: VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)
        }
        var region = VkBufferCopy(srcOffset: VkDeviceSize(sourceOffset), dstOffset: VkDeviceSize(destinationOffset), size: VkDeviceSize(bytes))
        vkCmdCopyBuffer(commandBuffer, source.handle, destination.handle, 1, &region)
        retained.append(source)
        retained.append(destination)
        copyCount += 1
    }

    private func validate(_ pipeline: ComputePipeline, bindings: [BufferBinding], pushConstants: [UInt8]?, groups: WorkgroupCount) throws(VulkanError) {
        let caps = device.capabilities
        guard pipeline.device === device else { throw VulkanError.invalidUse("\(pipeline.name) belongs to another device") }
        guard bindings.count == pipeline.bindingCount else {
            throw VulkanError.invalidUse("\(pipeline.name) takes \(pipeline.bindingCount) buffers, got \(bindings.count)")
        }
        if pushConstants == nil, pipeline.pushConstantSize > 0 {
            throw VulkanError.invalidUse("\(pipeline.name) needs \(pipeline.pushConstantSize) bytes of push constants")
        }
        for (index, binding) in bindings.enumerated() {
            guard binding.buffer.device === device, binding.offset >= 0, binding.size > 0,
                binding.offset + binding.size <= binding.buffer.byteCount,
                binding.offset % caps.minStorageBufferOffsetAlignment == 0
            else {
                throw VulkanError.invalidUse("\(pipeline.name) binding \(index): range \(binding.offset)+\(binding.size) of a "
                    + "\(binding.buffer.byteCount)-byte buffer (offsets aligned to \(caps.minStorageBufferOffsetAlignment))")
            }
            guard binding.size <= caps.maxStorageBufferRange else {
                throw VulkanError.limitExceeded("\(pipeline.name) binding \(index): \(binding.size) bytes exceed maxStorageBufferRange \(caps.maxStorageBufferRange); split the tensor")
            }
        }
        let limits = caps.maxComputeWorkGroupCount
        guard groups.x >= 1, groups.y >= 1, groups.z >= 1, groups.x <= limits[0], groups.y <= limits[1], groups.z <= limits[2] else {
            throw VulkanError.limitExceeded("\(pipeline.name): \(groups.x)×\(groups.y)×\(groups.z) workgroups (device allows up to \(limits.map(String.init).joined(separator: "×")))")
        }
    }

    private func beginIfNeeded() throws(VulkanError) {
        guard !recording else { return }
        var info = VkCommandBufferBeginInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        info.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try vkCheck(vkBeginCommandBuffer(commandBuffer, &info), "vkBeginCommandBuffer")
        if let queryPool { vkCmdResetQueryPool(commandBuffer, queryPool, 0, UInt32(2 * maxTimedDispatches)) }
        recording = true
    }

    private func writeDescriptors(_ set: VkDescriptorSet, bindings: [BufferBinding]) {
        var infos = bindings.map { VkDescriptorBufferInfo(buffer: $0.buffer.handle, offset: VkDeviceSize($0.offset), range: VkDeviceSize($0.size)) }
        infos.withUnsafeMutableBufferPointer { infoPointer in
            var writes = (0..<bindings.count).map { index in
                var write = VkWriteDescriptorSet()
                write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                write.dstSet = set
                write.dstBinding = UInt32(index)
                write.descriptorCount = 1
                write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                write.pBufferInfo = UnsafePointer(infoPointer.baseAddress! + index)
                return write
            }
            vkUpdateDescriptorSets(device.handle, UInt32(writes.count), &writes, 0, nil)
        }
    }

    /// Everything recorded before — dispatches and copies — happens before what follows at
    /// `stage`, and its writes are visible to `nextAccess`.
    private func barrier(to stage: VkPipelineStageFlags, then nextAccess: VkAccessFlags) {
        var barrier = VkMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        barrier.dstAccessMask = nextAccess
        let earlier = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        vkCmdPipelineBarrier(commandBuffer, earlier, stage, 0, 1, &barrier, 0, nil, 0, nil)
    }

    /// Submits everything recorded, waits for the fence and returns the dispatch timings (empty
    /// unless timestamps are enabled). The recorder is empty afterwards and can record again.
    @discardableResult
    public func submitAndWait() throws(VulkanError) -> [DispatchTiming] {
        try submit()
        return try wait()
    }

    /// Submits everything recorded without waiting (nothing happens when nothing was recorded).
    /// Call `wait()` before recording again.
    public func submit() throws(VulkanError) {
        guard recording, !inFlight else { return }
        // Shader and copy writes must be made visible to the host before the host reads mapped memory.
        barrier(to: VK_PIPELINE_STAGE_HOST_BIT.rawValue, then: VK_ACCESS_HOST_READ_BIT.rawValue)
        do {
            try vkCheck(vkEndCommandBuffer(commandBuffer), "vkEndCommandBuffer")
            try device.submit(commandBuffer, fence: fence)
        } catch {
            clear()
            throw error
        }
        inFlight = true
    }

    /// Waits for the submitted batch and returns its dispatch timings (empty unless timestamps are
    /// enabled); the recorder is empty afterwards. Without a submit in flight it does nothing.
    @discardableResult
    public func wait() throws(VulkanError) -> [DispatchTiming] {
        guard inFlight else { return [] }  // nothing submitted (anything recorded is kept)
        defer { clear() }
        var fences: [VkFence?] = [fence]
        try vkCheck(vkWaitForFences(device.handle, 1, &fences, VK_TRUE, UInt64.max), "vkWaitForFences")
        return try readTimings()
    }

    private func readTimings() throws(VulkanError) -> [DispatchTiming] {
        guard let queryPool, !timedLabels.isEmpty else { return [] }
        var ticks = [UInt64](repeating: 0, count: 2 * timedLabels.count)
        let flags = VK_QUERY_RESULT_64_BIT.rawValue | VK_QUERY_RESULT_WAIT_BIT.rawValue
        let result = ticks.withUnsafeMutableBytes {
            vkGetQueryPoolResults(device.handle, queryPool, 0, UInt32(2 * timedLabels.count), $0.count, $0.baseAddress, 8, flags)
        }
        try vkCheck(result, "vkGetQueryPoolResults")
        let period = device.capabilities.timestampPeriod
        return timedLabels.enumerated().map { index, label in
            let elapsed = ticks[2 * index + 1] &- ticks[2 * index]
            return DispatchTiming(label: label, seconds: Double(elapsed) * period * 1e-9)
        }
    }

    /// Back to an empty recorder. Only called once the fence has signalled (or nothing was submitted).
    private func clear() {
        vkResetFences(device.handle, 1, [fence])
        vkResetCommandPool(device.handle, commandPool, 0)
        descriptors.reset()
        retained.removeAll()
        timedLabels.removeAll()
        dispatchCount = 0
        copyCount = 0
        recording = false
        inFlight = false
    }
}
