import CVulkan
import Foundation

/// A VkPipelineCache kept in a file between runs, so the machine code a driver compiles from SPIR-V
/// at pipeline creation is reused by the next process instead of compiled again (on a GPU driver
/// that compile is most of a run's start-up).
///
/// The file is the driver's own cache data (vkGetPipelineCacheData), one file per device and driver
/// build (`fileName`) in `directory(environment:)`. Its header is checked against the device before
/// the driver sees it: a file that fails the check (another driver, truncated, not a cache at all)
/// is ignored with one line on standard error and replaced at the next save. A save writes a
/// temporary file next to the cache and renames it over the old one, so no reader ever sees half a
/// cache; a directory that cannot be written skips the save (one line on standard error) and never
/// fails pipeline creation.
///
/// Thread-safe: `save()` may run from a deinit on any thread while pipelines are being created (the
/// VkPipelineCache is created without VK_PIPELINE_CACHE_CREATE_EXTERNALLY_SYNCHRONIZED_BIT, so the
/// driver synchronises its use; the lock guards this object's own bookkeeping).
public final class PipelineDiskCache: @unchecked Sendable {
    /// What a `save()` did.
    public enum SaveOutcome: Equatable, Sendable {
        /// The file now holds this many bytes of the driver's cache data.
        case written(byteCount: Int)
        /// Nothing new: no pipeline was created since the last save, or the driver's data equals the file.
        case unchanged
        /// The file could not be written (the reason names the path); pipelines are unaffected.
        case skipped(reason: String)
    }

    /// Environment variable naming the cache directory; the value `off` turns the disk cache off.
    public static let environmentVariable = "VACEKIT_PIPELINE_CACHE"

    public let device: VulkanDevice
    /// The cache file of this device and driver (it may not exist yet).
    public let fileURL: URL
    /// Bytes of `fileURL` handed to the driver when this cache was created; 0 when it started empty.
    public let loadedByteCount: Int
    /// Why an existing file was not used (another driver, truncated, …); nil when it was used or absent.
    public let ignoredReason: String?
    let handle: VkPipelineCache

    private let header: PipelineCacheHeader
    private let lock = NSLock()
    /// Pipelines created through this cache since its data last matched the file.
    private var unsavedPipelines = 0
    /// The file's bytes as far as this object knows: what was loaded or last written.
    private var bytesOnDisk: [UInt8]
    /// A failed save is reported once; later ones fail quietly.
    private var reportedSaveFailure = false

    /// Whether the cache started from the file rather than empty.
    public var loadedFromDisk: Bool { loadedByteCount > 0 }

    /// Opens the cache of `device` kept in `directory` (created at the first save if missing).
    /// Throws only when the driver cannot create even an empty VkPipelineCache.
    public init(device: VulkanDevice, directory: URL) throws(VulkanError) {
        let header = PipelineCacheHeader(device.physicalDevice)
        let fileURL = directory.appendingPathComponent(
            Self.fileName(header: header, driverVersion: device.capabilities.driverVersion))
        var (bytes, ignoredReason) = Self.usableBytes(at: fileURL, header: header)
        var handle = Self.makeHandle(device.handle, initialData: bytes)
        if handle == nil, !bytes.isEmpty {
            // The header matched but the driver refused the rest: start empty, replace the file later.
            ignoredReason = "rejected by the driver"
            bytes = []
            handle = Self.makeHandle(device.handle, initialData: [])
        }
        guard let handle else {
            throw VulkanError.call("vkCreatePipelineCache(\(fileURL.path))", result: "returned no cache")
        }
        if let ignoredReason { Self.notice("vulkan: ignoring pipeline cache \(fileURL.path): \(ignoredReason)") }
        self.device = device
        self.fileURL = fileURL
        self.loadedByteCount = bytes.count
        self.ignoredReason = ignoredReason
        self.handle = handle
        self.header = header
        self.bytesOnDisk = ignoredReason == nil ? bytes : []
    }

    deinit {
        save()
        vkDestroyPipelineCache(device.handle, handle, nil)
    }

    /// Called by `ComputePipeline` after creating a pipeline through this cache: the next save has
    /// something to write (or finds the driver's data unchanged, when the pipeline came from the file).
    func pipelineCreated() {
        lock.withLock { unsavedPipelines += 1 }
    }

    /// Writes the driver's cache data to `fileURL` if pipelines were created since the last save and
    /// the data differs from the file's. Never throws: a failure is reported once on standard error.
    @discardableResult
    public func save() -> SaveOutcome {
        lock.withLock {
            guard unsavedPipelines > 0 else { return .unchanged }
            guard let data = Self.cacheData(device.handle, handle) else {
                return skip("vkGetPipelineCacheData failed")
            }
            if let reason = header.rejection(of: data) {
                return skip("the driver's cache data has an unexpected header (\(reason))")
            }
            if data == bytesOnDisk {
                unsavedPipelines = 0
                return .unchanged
            }
            if let reason = Self.writeAtomically(data, to: fileURL) { return skip(reason) }
            bytesOnDisk = data
            unsavedPipelines = 0
            return .written(byteCount: data.count)
        }
    }

    /// Reports the first failed save, keeping the pipelines unsaved so a later save may succeed.
    private func skip(_ reason: String) -> SaveOutcome {
        if !reportedSaveFailure {
            reportedSaveFailure = true
            Self.notice("vulkan: not saving pipeline cache \(fileURL.path): \(reason)")
        }
        return .skipped(reason: reason)
    }

    static func notice(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

// MARK: Location

extension PipelineDiskCache {
    /// `$VACEKIT_PIPELINE_CACHE` (a directory, or `off`), else `$XDG_CACHE_HOME/vacekit/pipelines`,
    /// else `~/.cache/vacekit/pipelines`; nil when off. Empty values count as unset, and so does a
    /// relative XDG_CACHE_HOME (the XDG base directory spec says to ignore one).
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let explicit = value(environmentVariable) {
            return explicit == "off" ? nil : URL(fileURLWithPath: explicit, isDirectory: true)
        }
        let cacheHome: URL
        if let xdg = value("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            cacheHome = URL(fileURLWithPath: xdg, isDirectory: true)
        } else {
            let home = value("HOME").map { URL(fileURLWithPath: $0, isDirectory: true) }
                ?? FileManager.default.homeDirectoryForCurrentUser
            cacheHome = home.appendingPathComponent(".cache", isDirectory: true)
        }
        return cacheHome.appendingPathComponent("vacekit", isDirectory: true).appendingPathComponent("pipelines", isDirectory: true)
    }

    /// The file `physicalDevice`'s cache is kept in inside `directory` (for `vacekit devices`).
    public static func fileURL(for physicalDevice: VulkanPhysicalDevice, in directory: URL) -> URL {
        directory.appendingPathComponent(
            fileName(header: PipelineCacheHeader(physicalDevice), driverVersion: physicalDevice.capabilities.driverVersion))
    }

    /// `<vendorID>-<deviceID>-<driverVersion>-<pipelineCacheUUID>.vkpipelinecache` in hex: devices
    /// and driver builds never share a file, so switching between them does not evict the other's cache.
    static func fileName(header: PipelineCacheHeader, driverVersion: UInt32) -> String {
        let uuid = header.uuid.map { String(format: "%02x", $0) }.joined()
        return String(format: "%04x-%04x-%08x-", header.vendorID, header.deviceID, driverVersion) + uuid + ".vkpipelinecache"
    }
}

// MARK: Files and driver calls

extension PipelineDiskCache {
    /// The file's bytes when it holds a cache this device accepts; otherwise no bytes, with the reason
    /// when a file was there. A missing file (or one under a path that is not a directory) is no reason.
    static func usableBytes(at url: URL, header: PipelineCacheHeader) -> (bytes: [UInt8], ignoredReason: String?) {
        guard FileManager.default.fileExists(atPath: url.path) else { return ([], nil) }
        guard let data = FileManager.default.contents(atPath: url.path) else { return ([], "unreadable") }
        let bytes = [UInt8](data)
        if let reason = header.rejection(of: bytes) { return ([], reason) }
        return (bytes, nil)
    }

    /// A VkPipelineCache seeded with `initialData`, or nil when the driver refuses it.
    static func makeHandle(_ device: VkDevice, initialData: [UInt8]) -> VkPipelineCache? {
        var cache: VkPipelineCache?
        let result = initialData.withUnsafeBytes { data in
            var info = VkPipelineCacheCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO
            info.initialDataSize = data.count
            info.pInitialData = data.count > 0 ? data.baseAddress : nil
            return vkCreatePipelineCache(device, &info, nil, &cache)
        }
        return result == VK_SUCCESS ? cache : nil
    }

    /// The driver's serialised cache; nil if it fails. Asks again if the cache grew between the size
    /// query and the copy (VK_INCOMPLETE).
    static func cacheData(_ device: VkDevice, _ cache: VkPipelineCache) -> [UInt8]? {
        for _ in 0..<4 {
            var size = 0
            guard vkGetPipelineCacheData(device, cache, &size, nil) == VK_SUCCESS else { return nil }
            var bytes = [UInt8](repeating: 0, count: size)
            let result = bytes.withUnsafeMutableBytes { vkGetPipelineCacheData(device, cache, &size, $0.baseAddress) }
            if result == VK_SUCCESS { return Array(bytes.prefix(size)) }
            guard result == VK_INCOMPLETE else { return nil }
        }
        return nil
    }

    /// Writes `bytes` to a temporary file beside `url`, flushes it and renames it over `url`
    /// (rename(2) is atomic on one file system), creating the directory first. Returns why not, or nil.
    static func writeAtomically(_ bytes: [UInt8], to url: URL) -> String? {
        let directory = url.deletingLastPathComponent().path
        if let reason = makeDirectory(directory) { return reason }
        let temporary = (directory as NSString).appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { return "cannot create \(temporary): \(String(cString: strerror(errno)))" }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        let failure = written < bytes.count || fsync(fd) != 0 ? String(cString: strerror(errno)) : nil
        close(fd)
        if let failure {
            unlink(temporary)
            return "cannot write \(temporary): \(failure)"
        }
        guard rename(temporary, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return "cannot rename \(temporary) into place: \(reason)"
        }
        return nil
    }

    /// Creates `path` and its missing parents (mode 0755); returns why not, or nil when it is a directory.
    static func makeDirectory(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            return isDirectory.boolValue ? nil : "\(path) is not a directory"
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, let reason = makeDirectory(parent) { return reason }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            return "cannot create \(path): \(String(cString: strerror(errno)))"
        }
        return nil
    }
}

// MARK: Sharing

extension PipelineDiskCache {
    /// The cache of `device` in `directory` shared by every `PipelineCache` of that device in this
    /// process, so a device has one VkPipelineCache and the file one writer. Nil (after a one-line
    /// notice) when the driver cannot create a pipeline cache; pipelines are then created without one.
    static func shared(device: VulkanDevice, directory: URL) -> PipelineDiskCache? {
        SharedDiskCaches.instance.cache(device: device, directory: directory)
    }
}

/// The live disk caches by (device, directory), held weakly: the last `PipelineCache` using one
/// releases it, which saves it.
private final class SharedDiskCaches: @unchecked Sendable {
    static let instance = SharedDiskCaches()

    private struct Key: Hashable {
        var device: ObjectIdentifier
        var directory: String
    }

    private final class WeakCache {
        weak var cache: PipelineDiskCache?
        init(_ cache: PipelineDiskCache) { self.cache = cache }
    }

    private let lock = NSLock()
    private var caches: [Key: WeakCache] = [:]

    func cache(device: VulkanDevice, directory: URL) -> PipelineDiskCache? {
        lock.withLock {
            caches = caches.filter { $0.value.cache != nil }
            // A live cache holds its device, so the device's identifier cannot have been reused.
            let key = Key(device: ObjectIdentifier(device), directory: directory.standardizedFileURL.path)
            if let cache = caches[key]?.cache { return cache }
            do {
                let cache = try PipelineDiskCache(device: device, directory: directory)
                caches[key] = WeakCache(cache)
                return cache
            } catch {
                PipelineDiskCache.notice("vulkan: no pipeline cache: \(error)")
                return nil
            }
        }
    }
}

// MARK: Header

/// The header every VkPipelineCache's data starts with (VkPipelineCacheHeaderVersionOne): 32 bytes,
/// little-endian whatever the host. Checked here because not every driver checks it well, and a
/// cache from another device or driver build must never reach one that does not.
struct PipelineCacheHeader: Equatable {
    static let byteCount = 32

    var vendorID: UInt32
    var deviceID: UInt32
    /// VkPhysicalDeviceProperties.pipelineCacheUUID: changes whenever the driver's cache format might.
    var uuid: [UInt8]

    init(vendorID: UInt32, deviceID: UInt32, uuid: [UInt8]) {
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.uuid = uuid
    }

    /// The header `physicalDevice`'s driver writes.
    init(_ physicalDevice: VulkanPhysicalDevice) {
        var properties = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(physicalDevice.handle, &properties)
        self.init(vendorID: properties.vendorID, deviceID: properties.deviceID,
                  uuid: array(fromTuple: properties.pipelineCacheUUID, of: UInt8.self, count: 16))
    }

    /// The 32 bytes a cache with this header begins with.
    var bytes: [UInt8] {
        let words = [UInt32(Self.byteCount), VK_PIPELINE_CACHE_HEADER_VERSION_ONE.rawValue, vendorID, deviceID]
        return words.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } + uuid
    }

    /// Why `data` is not a cache with this header (empty, truncated, not a cache, another device or
    /// driver), or nil when it is one.
    func rejection(of data: [UInt8]) -> String? {
        guard !data.isEmpty else { return "empty file" }
        guard data.count >= Self.byteCount else {
            return "truncated (\(data.count) bytes, shorter than the \(Self.byteCount)-byte header)"
        }
        func word(_ index: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(data[index * 4 + $1]) << (8 * $1) }
        }
        let size = word(0), version = word(1), vendor = word(2), device = word(3)
        guard size == UInt32(Self.byteCount), version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE.rawValue else {
            return "not a Vulkan pipeline cache (header size \(size), version \(version))"
        }
        guard vendor == vendorID, device == deviceID else {
            return String(format: "written for another device (vendor 0x%04x device 0x%04x)", vendor, device)
        }
        guard Array(data[16..<32]) == uuid else { return "written by another driver (pipeline cache UUID differs)" }
        return nil
    }
}
