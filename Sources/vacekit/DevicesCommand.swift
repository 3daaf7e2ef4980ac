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
        for device in devices { print(device.capabilities.describe()) }
        if let chosen = try? DeviceSelector.fromEnvironment().choose(from: devices.map(\.capabilities)) {
            print("chosen: \(chosen.name) (override with --device vulkan:N or VACEKIT_DEVICE=<index or name>)")
        }
    }
}
