import CVulkan
import Foundation

/// A pipeline per (family, specialization constants), created on first use and kept (lavapipe
/// compiles a shader on its first dispatch, which the first op of each kind pays). Pipelines are
/// compiled through the device's `PipelineDiskCache`, saved when this cache goes away, so the next
/// run finds the driver's compiled code on disk.
final class PipelineCache: @unchecked Sendable {
    private struct Key: Hashable {
        var family: KernelFamily
        var specialization: [UInt32]
    }

    let device: VulkanDevice
    let halfActivations: Bool
    /// Where compiled pipelines are kept between runs; nil when the disk cache is off.
    let diskCache: PipelineDiskCache?
    private var pipelines: [Key: ComputePipeline] = [:]

    /// - Parameter pipelineCacheDirectory: the directory of the on-disk pipeline cache (by default
    ///   `PipelineDiskCache.directory()`: VACEKIT_PIPELINE_CACHE, else the user's cache directory);
    ///   nil turns it off.
    init(device: VulkanDevice, halfActivations: Bool,
         pipelineCacheDirectory: URL? = PipelineDiskCache.directory()) {
        self.device = device
        self.halfActivations = halfActivations
        diskCache = pipelineCacheDirectory.flatMap { PipelineDiskCache.shared(device: device, directory: $0) }
    }

    deinit {
        diskCache?.save()
    }

    /// The pipeline of `family` with the given specialization constants (constant_id → value; ids
    /// not given keep the shader's defaults). Not locked: the backend calls it under its own lock.
    func pipeline(_ family: KernelFamily, specialization: [UInt32: UInt32] = [:]) throws(VulkanError) -> ComputePipeline {
        let ids = specialization.keys.sorted()
        let key = Key(family: family, specialization: ids.flatMap { [$0, specialization[$0]!] })
        if let pipeline = pipelines[key] { return pipeline }
        let label = family.rawValue + (halfActivations ? "/f16" : "/f32")
            + (ids.isEmpty ? "" : "[" + ids.map { "\($0)=\(specialization[$0]!)" }.joined(separator: ",") + "]")
        let pipeline = try ComputePipeline(
            device: device, name: label, spirv: family.spirv(halfActivations: halfActivations),
            bindingCount: family.bindingCount, pushConstantSize: family.pushWords * 4,
            specializationEntries: ids.map { ($0, specialization[$0]!) }, diskCache: diskCache)
        pipelines[key] = pipeline
        return pipeline
    }
}
