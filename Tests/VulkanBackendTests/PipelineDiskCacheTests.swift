import CVulkan
import Foundation
import Testing
@testable import VulkanBackend

@Suite(.enabled(if: TestDevice.available, TestDevice.skipReason))
struct PipelineDiskCacheTests {
    /// A new empty directory under the system's temporary directory, removed after `body`.
    func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vacekit-pipeline-cache-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory)
    }

    /// The tiny `vector_add` shader compiled through `cache`.
    func makeVectorAdd(_ device: VulkanDevice, _ cache: PipelineDiskCache?, workgroupSize: UInt32 = 64) throws -> ComputePipeline {
        try ComputePipeline(device: device, name: "vector_add/\(workgroupSize)", spirv: EmbeddedSPIRV.vector_add,
                            bindingCount: 3, pushConstantSize: 4, specialization: [workgroupSize], diskCache: cache)
    }

    /// The device's pipelineCacheUUID, read here rather than through the code under test.
    func pipelineCacheUUID(_ device: VulkanDevice) -> [UInt8] {
        var properties = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(device.physicalDevice.handle, &properties)
        return withUnsafeBytes(of: properties.pipelineCacheUUID) { Array($0) }
    }

    func littleEndianWord(_ bytes: [UInt8], _ index: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[index * 4 + $1]) << (8 * $1) }
    }

    /// A fresh directory holds no file until a pipeline is created and saved; the file then starts
    /// with this device's pipeline cache header, and no temporary file is left beside it.
    @Test func saveWritesAFileWithTheDeviceHeader() throws {
        let device = try TestDevice.result.get()
        try withTemporaryDirectory { directory in
            let cache = try PipelineDiskCache(device: device, directory: directory)
            #expect(!cache.loadedFromDisk && cache.loadedByteCount == 0 && cache.ignoredReason == nil)
            #expect(cache.fileURL.deletingLastPathComponent().standardizedFileURL == directory.standardizedFileURL)
            #expect(cache.save() == .unchanged, "nothing compiled yet")
            #expect(!FileManager.default.fileExists(atPath: cache.fileURL.path))

            _ = try makeVectorAdd(device, cache)
            let outcome = cache.save()
            guard case .written(let byteCount) = outcome else {
                Issue.record("save after creating a pipeline: \(outcome)")
                return
            }
            let bytes = try [UInt8](Data(contentsOf: cache.fileURL))
            #expect(bytes.count == byteCount && byteCount >= 32)
            let caps = device.capabilities
            #expect(littleEndianWord(bytes, 0) == 32, "header length")
            #expect(littleEndianWord(bytes, 1) == VK_PIPELINE_CACHE_HEADER_VERSION_ONE.rawValue)
            #expect(littleEndianWord(bytes, 2) == caps.vendorID)
            #expect(littleEndianWord(bytes, 3) == caps.deviceID)
            let uuid = pipelineCacheUUID(device)
            #expect(Array(bytes[16..<32]) == uuid)
            // The name tells devices and driver builds apart.
            let name = cache.fileURL.lastPathComponent
            #expect(name.hasPrefix(String(format: "%04x-%04x-%08x-", caps.vendorID, caps.deviceID, caps.driverVersion)))
            #expect(name.contains(uuid.map { String(format: "%02x", $0) }.joined()))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [name])
            #expect(cache.save() == .unchanged, "no pipeline created since the last save")
        }
    }

    /// A second cache over the same directory starts from the file, and pipelines compiled through it
    /// compute the right sums.
    @Test func secondCacheLoadsTheFileAndItsPipelinesCompute() throws {
        let device = try TestDevice.result.get()
        try withTemporaryDirectory { directory in
            let first = try PipelineDiskCache(device: device, directory: directory)
            _ = try makeVectorAdd(device, first, workgroupSize: 128)
            guard case .written(let byteCount) = first.save() else {
                Issue.record("the first cache wrote nothing")
                return
            }

            let second = try PipelineDiskCache(device: device, directory: directory)
            #expect(second.loadedFromDisk)
            #expect(second.loadedByteCount == byteCount)
            #expect(second.ignoredReason == nil)

            let n = 1_001
            let a = pseudoRandomFloats(count: n, seed: 11), b = pseudoRandomFloats(count: n, seed: 12)
            let buffers = try [a, b, [Float](repeating: .nan, count: n)].map { values in
                let buffer = try VulkanBuffer(device: device, byteCount: values.count * 4)
                buffer.write(values)
                return buffer
            }
            let add = try makeVectorAdd(device, second, workgroupSize: 128)
            let recorder = try CommandRecorder(device: device)
            try recorder.dispatch(add, buffers: buffers, pushConstants: UInt32(n), groups: .covering(n, groupSize: 128))
            try recorder.submitAndWait()
            let c = buffers[2].read(Float.self, count: n)
            #expect((0..<n).allSatisfy { c[$0] == a[$0] + b[$0] })
            #expect(!second.save().isSkipped, "saving over a good file")
            #expect(try PipelineDiskCache(device: device, directory: directory).loadedFromDisk)
        }
    }

    /// `PipelineCache` compiles through the shared disk cache of its device and directory, and the
    /// file is written by the time the last one goes away.
    @Test func pipelineCacheSavesWhenReleased() throws {
        let device = try TestDevice.result.get()
        try withTemporaryDirectory { directory in
            let file = PipelineDiskCache.fileURL(for: device.physicalDevice, in: directory)
            do {
                let pipelines = PipelineCache(device: device, halfActivations: false, pipelineCacheDirectory: directory)
                let other = PipelineCache(device: device, halfActivations: false, pipelineCacheDirectory: directory)
                #expect(pipelines.diskCache != nil && pipelines.diskCache === other.diskCache, "one disk cache per device and directory")
                #expect(pipelines.diskCache?.fileURL == file)
                _ = try pipelines.pipeline(.layout)
                #expect(!FileManager.default.fileExists(atPath: file.path), "saved only on release or save()")
            }
            let bytes = try [UInt8](Data(contentsOf: file))
            #expect(PipelineCacheHeader(device.physicalDevice).rejection(of: bytes) == nil)
        }
    }

    enum DamagedFile: String, CaseIterable, Sendable {
        case empty, randomBytes, truncatedHeader, otherDriver, otherDevice, otherHeaderVersion

        /// The bytes written in place of the cache, and what the reason for ignoring them must say.
        func contents(_ header: PipelineCacheHeader) -> (bytes: [UInt8], reason: String) {
            var state: UInt64 = 0x5eed
            let noise = (0..<96).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 56)
            }
            switch self {
            case .empty:
                return ([], "empty")
            case .randomBytes:
                return (noise, "not a Vulkan pipeline cache")
            case .truncatedHeader:
                return (Array(header.bytes.prefix(20)), "truncated")
            case .otherDriver:
                var other = header
                other.uuid[0] ^= 0xff
                return (other.bytes + noise, "another driver")
            case .otherDevice:
                var other = header
                other.deviceID &+= 1
                return (other.bytes + noise, "another device")
            case .otherHeaderVersion:
                var bytes = header.bytes + noise
                bytes[4] = 2
                return (bytes, "not a Vulkan pipeline cache")
            }
        }
    }

    /// A damaged or foreign file never reaches the driver: the cache starts empty, says why, and the
    /// next save replaces the file with one the following run loads.
    @Test(arguments: DamagedFile.allCases)
    func damagedFileIsIgnoredAndReplaced(_ damage: DamagedFile) throws {
        let device = try TestDevice.result.get()
        try withTemporaryDirectory { directory in
            let header = PipelineCacheHeader(device.physicalDevice)
            let (bytes, reason) = damage.contents(header)
            let file = PipelineDiskCache.fileURL(for: device.physicalDevice, in: directory)
            try Data(bytes).write(to: file)

            let cache = try PipelineDiskCache(device: device, directory: directory)
            #expect(!cache.loadedFromDisk)
            #expect(cache.ignoredReason?.contains(reason) == true, "\(cache.ignoredReason ?? "not ignored")")
            _ = try makeVectorAdd(device, cache)
            guard case .written = cache.save() else {
                Issue.record("the damaged file was not replaced")
                return
            }
            let replaced = try [UInt8](Data(contentsOf: file))
            #expect(header.rejection(of: replaced) == nil)
            let next = try PipelineDiskCache(device: device, directory: directory)
            #expect(next.loadedFromDisk && next.ignoredReason == nil)
        }
    }

    /// The header check on its own: the device's header passes, anything else fails.
    @Test func headerCheck() throws {
        let header = PipelineCacheHeader(vendorID: 0x10de, deviceID: 0x2684, uuid: Array(1...16))
        #expect(header.bytes.count == 32)
        #expect(header.rejection(of: header.bytes) == nil)
        #expect(header.rejection(of: header.bytes + [0, 1, 2]) == nil)
        var otherVendor = header
        otherVendor.vendorID = 0x1002
        #expect(header.rejection(of: otherVendor.bytes)?.contains("vendor 0x1002") == true)
        var longerHeader = header.bytes
        longerHeader[0] = 48
        #expect(header.rejection(of: longerHeader + [UInt8](repeating: 0, count: 16))?.contains("header size 48") == true)
    }

    @Test func locationFollowsTheEnvironment() {
        let home = ["HOME": "/home/u"]
        #expect(PipelineDiskCache.directory(environment: home)?.path == "/home/u/.cache/vacekit/pipelines")
        #expect(PipelineDiskCache.directory(environment: home.merging(["XDG_CACHE_HOME": "/xdg"]) { $1 })?.path
            == "/xdg/vacekit/pipelines")
        #expect(PipelineDiskCache.directory(environment: home.merging(["XDG_CACHE_HOME": "relative"]) { $1 })?.path
            == "/home/u/.cache/vacekit/pipelines", "a relative XDG_CACHE_HOME is ignored")
        #expect(PipelineDiskCache.directory(environment: home.merging(["VACEKIT_PIPELINE_CACHE": "/p", "XDG_CACHE_HOME": "/xdg"]) { $1 })?.path
            == "/p")
        #expect(PipelineDiskCache.directory(environment: home.merging(["VACEKIT_PIPELINE_CACHE": ""]) { $1 })?.path
            == "/home/u/.cache/vacekit/pipelines", "empty counts as unset")
        #expect(PipelineDiskCache.directory(environment: home.merging(["VACEKIT_PIPELINE_CACHE": "off"]) { $1 }) == nil)
    }

    /// `off` (a nil directory) means no disk cache at all, and pipelines are created as before.
    @Test func offMeansNoDiskCache() throws {
        let device = try TestDevice.result.get()
        let pipelines = PipelineCache(device: device, halfActivations: false, pipelineCacheDirectory: nil)
        #expect(pipelines.diskCache == nil)
        _ = try makeVectorAdd(device, pipelines.diskCache)
    }

    /// A cache directory under a regular file cannot be created: pipelines are still created, the save
    /// is skipped with the reason, and nothing throws.
    @Test func unwritableDirectorySkipsTheSave() throws {
        let device = try TestDevice.result.get()
        try withTemporaryDirectory { directory in
            let blocker = directory.appendingPathComponent("not-a-directory")
            try Data("x".utf8).write(to: blocker)
            let unwritable = blocker.appendingPathComponent("pipelines", isDirectory: true)

            let cache = try PipelineDiskCache(device: device, directory: unwritable)
            #expect(!cache.loadedFromDisk && cache.ignoredReason == nil)
            _ = try makeVectorAdd(device, cache)
            guard case .skipped(let reason) = cache.save() else {
                Issue.record("a save under a regular file did not report a skip")
                return
            }
            #expect(reason.contains("not a directory"), "\(reason)")
            #expect(cache.save().isSkipped, "the pipelines stay unsaved, so a later save tries again")

            let pipelines = PipelineCache(device: device, halfActivations: false, pipelineCacheDirectory: unwritable)
            _ = try pipelines.pipeline(.layout)
        }
    }
}

extension PipelineDiskCache.SaveOutcome {
    var isSkipped: Bool {
        if case .skipped = self { return true }
        return false
    }
}
