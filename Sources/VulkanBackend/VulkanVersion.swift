/// A Vulkan version number as packed by VK_MAKE_API_VERSION (the C macros do not import into Swift).
public struct VulkanVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32
    public var patch: UInt32

    public init(_ major: UInt32, _ minor: UInt32, _ patch: UInt32 = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Unpacks `(variant << 29) | (major << 22) | (minor << 12) | patch`.
    public init(packed: UInt32) {
        self.init((packed >> 22) & 0x7F, (packed >> 12) & 0x3FF, packed & 0xFFF)
    }

    public var packed: UInt32 { (major << 22) | (minor << 12) | patch }

    public static let v1_1 = VulkanVersion(1, 1)
    public static let v1_2 = VulkanVersion(1, 2)
    public static let v1_3 = VulkanVersion(1, 3)

    public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }

    public var description: String { "\(major).\(minor).\(patch)" }
}
