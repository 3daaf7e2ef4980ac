import Testing
@testable import VulkanBackend

@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct DispatchTests {
    /// Odd on purpose: the last workgroup is partly outside the data.
    static let count = 10_007

    func makeBuffers(_ device: VulkanDevice, _ arrays: [[Float]]) throws -> [VulkanBuffer] {
        try arrays.map { values in
            let buffer = try VulkanBuffer(device: device, byteCount: values.count * 4)
            buffer.write(values)
            return buffer
        }
    }

    @Test func vectorAddMatchesCPUExactly() throws {
        let device = try TestDevice.result.get()
        let a = pseudoRandomFloats(count: Self.count, seed: 1), b = pseudoRandomFloats(count: Self.count, seed: 2)
        let buffers = try makeBuffers(device, [a, b, [Float](repeating: .nan, count: Self.count)])
        let add = try ComputePipeline(device: device, name: "vector_add", spirv: EmbeddedSPIRV.vector_add, bindingCount: 3, pushConstantSize: 4)

        let recorder = try CommandRecorder(device: device)
        try recorder.dispatch(add, buffers: buffers, pushConstants: UInt32(Self.count), groups: .covering(Self.count, groupSize: 64))
        #expect(recorder.dispatchCount == 1)
        try recorder.submitAndWait()
        #expect(recorder.dispatchCount == 0)

        let c = buffers[2].read(Float.self, count: Self.count)
        let expected = zip(a, b).map { $0 + $1 }
        let mismatches = (0..<Self.count).filter { c[$0].bitPattern != expected[$0].bitPattern }
        #expect(mismatches.isEmpty, "\(mismatches.count) elements differ, first at \(mismatches.first ?? -1)")
    }

    /// Workgroup size 128 through specialization constant 0: if the constant were ignored the shader
    /// would run 64-wide and half of the elements would stay NaN.
    @Test func specializationConstantSetsWorkgroupSize() throws {
        let device = try TestDevice.result.get()
        let a = pseudoRandomFloats(count: Self.count, seed: 3), b = pseudoRandomFloats(count: Self.count, seed: 4)
        let buffers = try makeBuffers(device, [a, b, [Float](repeating: .nan, count: Self.count)])
        let add = try ComputePipeline(
            device: device, name: "vector_add/128", spirv: EmbeddedSPIRV.vector_add, bindingCount: 3, pushConstantSize: 4,
            specialization: [128])
        let recorder = try CommandRecorder(device: device)
        try recorder.dispatch(add, buffers: buffers, pushConstants: UInt32(Self.count), groups: .covering(Self.count, groupSize: 128))
        try recorder.submitAndWait()
        let c = buffers[2].read(Float.self, count: Self.count)
        #expect(zip(c, zip(a, b)).allSatisfy { $0 == $1.0 + $1.1 })
    }

    /// Two dependent dispatches in one submit (d = (a + b) + b): the barrier between them must make
    /// the first result visible to the second. The recorder is then reused for a second batch.
    @Test func dependentDispatchesInOneSubmitAndReuse() throws {
        let device = try TestDevice.result.get()
        let n = 1_001
        let a = pseudoRandomFloats(count: n, seed: 5), b = pseudoRandomFloats(count: n, seed: 6)
        let nan = [Float](repeating: .nan, count: n)
        let buffers = try makeBuffers(device, [a, b, nan, nan])
        let add = try ComputePipeline(device: device, name: "vector_add", spirv: EmbeddedSPIRV.vector_add, bindingCount: 3, pushConstantSize: 4)
        let recorder = try CommandRecorder(device: device, timestamps: true)
        let groups = WorkgroupCount.covering(n, groupSize: 64)
        for round in 0..<2 {
            buffers[2].write(nan)
            buffers[3].write(nan)
            try recorder.dispatch(add, buffers: [buffers[0], buffers[1], buffers[2]], pushConstants: UInt32(n), groups: groups, label: "a+b")
            try recorder.dispatch(add, buffers: [buffers[2], buffers[1], buffers[3]], pushConstants: UInt32(n), groups: groups, label: "(a+b)+b")
            let timings = try recorder.submitAndWait()
            let d = buffers[3].read(Float.self, count: n)
            #expect((0..<n).allSatisfy { d[$0] == (a[$0] + b[$0]) + b[$0] }, "round \(round)")
            if recorder.timestampsEnabled {
                #expect(timings.map(\.label) == ["a+b", "(a+b)+b"])
                #expect(timings.allSatisfy { $0.seconds >= 0 && $0.seconds < 10 }, "\(timings)")
            } else {
                #expect(timings.isEmpty)
            }
        }
    }

    /// f16 storage with f32 arithmetic; bit-exact because the shader forbids fused multiply-add.
    @Test(.enabled(if: TestDevice.device?.enabledFeatures.storageBuffer16BitAccess == true, "device has no 16-bit storage"))
    func saxpyF16MatchesCPUExactly() throws {
        let device = try TestDevice.result.get()
        let n = Self.count
        let x = pseudoRandomFloats(count: n, seed: 7, range: 60).map { Float16($0) }
        let y = pseudoRandomFloats(count: n, seed: 8, range: 60).map { Float16($0) }
        let alpha: Float = 1.5
        let bufferX = try VulkanBuffer(device: device, byteCount: n * 2), bufferY = try VulkanBuffer(device: device, byteCount: n * 2)
        let out = try VulkanBuffer(device: device, byteCount: n * 2)
        bufferX.write(x)
        bufferY.write(y)
        out.write([Float16](repeating: .nan, count: n))
        struct Params { var n: UInt32; var alpha: Float }
        let saxpy = try ComputePipeline(device: device, name: "saxpy_f16", spirv: EmbeddedSPIRV.saxpy_f16, bindingCount: 3, pushConstantSize: 8)
        let recorder = try CommandRecorder(device: device)
        try recorder.dispatch(saxpy, buffers: [bufferX, bufferY, out], pushConstants: Params(n: UInt32(n), alpha: alpha), groups: .covering(n, groupSize: 64))
        try recorder.submitAndWait()
        let result = out.read(Float16.self, count: n)
        let expected = (0..<n).map { Float16(alpha * Float(x[$0]) + Float(y[$0])) }
        let mismatches = (0..<n).filter { result[$0].bitPattern != expected[$0].bitPattern }
        #expect(mismatches.isEmpty, "\(mismatches.count) elements differ, first at \(mismatches.first ?? -1)")
    }

    @Test func misuseIsReportedNotCrashed() throws {
        let device = try TestDevice.result.get()
        let add = try ComputePipeline(device: device, name: "vector_add", spirv: EmbeddedSPIRV.vector_add, bindingCount: 3, pushConstantSize: 4)
        let buffer = try VulkanBuffer(device: device, byteCount: 64)
        let recorder = try CommandRecorder(device: device)
        #expect(throws: VulkanError.self) {  // two buffers for three bindings
            try recorder.dispatch(add, buffers: [buffer, buffer], pushConstants: UInt32(16), groups: WorkgroupCount(x: 1))
        }
        #expect(throws: VulkanError.self) {  // 8 bytes of push constants for a 4-byte block
            try recorder.dispatch(add, buffers: [buffer, buffer, buffer], pushConstants: UInt64(16), groups: WorkgroupCount(x: 1))
        }
        #expect(throws: VulkanError.self) {  // no push constants at all
            try recorder.dispatch(add, buffers: [buffer, buffer, buffer], groups: WorkgroupCount(x: 1))
        }
        #expect(throws: VulkanError.self) { try VulkanBuffer(device: device, byteCount: 0) }
        #expect(throws: VulkanError.self) {
            try ComputePipeline(device: device, name: "too-many-push-bytes", spirv: EmbeddedSPIRV.vector_add, bindingCount: 3, pushConstantSize: 4096)
        }
        #expect(recorder.dispatchCount == 0)
        #expect(try recorder.submitAndWait().isEmpty)  // nothing recorded: nothing submitted
    }

    @Test func requiredSubgroupSizeWhenSupported() throws {
        let device = try TestDevice.result.get()
        let caps = device.capabilities
        let makePipeline = { (size: Int) throws -> ComputePipeline in
            try ComputePipeline(device: device, name: "vector_add/sg\(size)", spirv: EmbeddedSPIRV.vector_add, bindingCount: 3,
                                pushConstantSize: 4, requiredSubgroupSize: size)
        }
        if device.enabledFeatures.subgroupSizeControl {
            _ = try makePipeline(caps.maxSubgroupSize)
        }
        #expect(throws: VulkanError.self) { try makePipeline(caps.maxSubgroupSize * 2) }
    }
}
