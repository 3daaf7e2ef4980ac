import ArgumentParser
import Foundation
import VulkanBackend

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the Vulkan devices (name, then capabilities) and the one VaceKit would choose.")

    func run() throws {
        let devices: [VulkanPhysicalDevice]
        do {
            devices = try VulkanInstance().physicalDevices()
        } catch {
            print("no Vulkan driver (\(error)): VaceKit runs on the CPU backend")
            return
        }
        for device in devices {
            print(device.capabilities.describe())
            print(KernelChoices.describe(device))
            print("  pipeline cache: \(pipelineCacheLocation(device))")
        }
        if let chosen = try? DeviceSelector.fromEnvironment().choose(from: devices.map(\.capabilities)) {
            print("chosen: \(chosen.name) (override with --device vulkan:N or VACEKIT_DEVICE=<index or name>)")
        }
    }

    /// The file `device`'s compiled pipelines are kept in between runs (VACEKIT_PIPELINE_CACHE moves it).
    private func pipelineCacheLocation(_ device: VulkanPhysicalDevice) -> String {
        guard let directory = PipelineDiskCache.directory() else { return "off (\(PipelineDiskCache.environmentVariable)=off)" }
        let file = PipelineDiskCache.fileURL(for: device, in: directory)
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int else {
            return "\(file.path) (not written yet)"
        }
        return "\(file.path) (\(size) bytes)"
    }
}
