import Foundation

/// Which physical device to open: the best one, one by index, or one whose name contains a string.
/// `VACEKIT_DEVICE` holds the user's choice (`0`, `1`, `llvmpipe`, `RTX`, …).
public enum DeviceSelector: Sendable, Hashable, CustomStringConvertible {
    /// Discrete GPU, then integrated, then virtual, then CPU (lavapipe); ties go to the lower index.
    case automatic
    case index(Int)
    /// Case-insensitive substring of the device name.
    case nameContains(String)

    public static let environmentVariable = "VACEKIT_DEVICE"

    /// Empty or "auto" → automatic; a decimal number → index; anything else → a name substring.
    public init(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "auto" {
            self = .automatic
        } else if let index = Int(trimmed), index >= 0 {
            self = .index(index)
        } else {
            self = .nameContains(trimmed)
        }
    }

    /// The selector `VACEKIT_DEVICE` asks for, or `.automatic` when it is unset.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> DeviceSelector {
        environment[environmentVariable].map(DeviceSelector.init(parsing:)) ?? .automatic
    }

    public var description: String {
        switch self {
        case .automatic: return "auto"
        case .index(let index): return "\(index)"
        case .nameContains(let text): return text
        }
    }

    /// Preference order of device types: lower is better.
    static func rank(_ type: VulkanCapabilities.DeviceType) -> Int {
        switch type {
        case .discreteGPU: return 0
        case .integratedGPU: return 1
        case .virtualGPU: return 2
        case .cpu: return 3
        case .other: return 4
        }
    }

    /// Picks from `candidates` (already probed). Pure, so it is testable without devices.
    public func choose(from candidates: [VulkanCapabilities]) throws(VulkanError) -> VulkanCapabilities {
        let names = candidates.map(\.name)
        let matching: [VulkanCapabilities]
        switch self {
        case .automatic:
            matching = candidates
        case .index(let index):
            matching = candidates.filter { $0.index == index }
        case .nameContains(let text):
            matching = candidates.filter { $0.name.range(of: text, options: .caseInsensitive) != nil }
        }
        if matching.isEmpty {
            if self == .automatic { throw VulkanError.noDevice(found: names) }
            throw VulkanError.deviceNotFound(selector: description, available: names)
        }
        let usable = matching.filter(\.meetsRequirements)
        guard let best = usable.min(by: { (Self.rank($0.deviceType), $0.index) < (Self.rank($1.deviceType), $1.index) }) else {
            throw VulkanError.noDevice(found: matching.map { "\($0.name) (Vulkan \($0.apiVersion))" })
        }
        return best
    }
}

extension VulkanInstance {
    /// The physical device `selector` picks among this instance's devices.
    public func selectDevice(_ selector: DeviceSelector = .fromEnvironment()) throws(VulkanError) -> VulkanPhysicalDevice {
        let devices = try physicalDevices()
        let chosen = try selector.choose(from: devices.map(\.capabilities))
        return devices[devices.firstIndex { $0.capabilities.index == chosen.index }!]
    }
}
