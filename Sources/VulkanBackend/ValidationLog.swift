import CVulkan
import Foundation

/// The messages of `VK_LAYER_KHRONOS_validation` for one instance, collected through
/// VK_EXT_debug_utils (errors and warnings; synchronization hazards are errors). Tests run workloads
/// under validation and expect `errors` to stay empty; `VACEKIT_VULKAN_VALIDATION=1` prints them.
public final class ValidationLog: @unchecked Sendable {
    public struct Message: Sendable, CustomStringConvertible {
        public var isError: Bool
        public var text: String
        public var description: String { (isError ? "error: " : "warning: ") + text }
    }

    private let lock = NSLock()
    private var messages: [Message] = []
    /// Print each message to standard error as it arrives.
    public let prints: Bool

    init(prints: Bool) { self.prints = prints }

    public var errors: [Message] { lock.withLock { messages.filter(\.isError) } }
    public var all: [Message] { lock.withLock { messages } }

    func record(_ message: Message) {
        lock.withLock { messages.append(message) }
        if prints { FileHandle.standardError.write(Data("vulkan validation \(message)\n".utf8)) }
    }

    /// The create info of a messenger reporting warnings and errors of every type into `self`.
    /// The caller keeps `self` alive as long as the messenger (the instance holds both).
    func messengerInfo() -> VkDebugUtilsMessengerCreateInfoEXT {
        var info = VkDebugUtilsMessengerCreateInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
        info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue
        info.pfnUserCallback = { severity, _, data, user in
            guard let user, let data, let text = data.pointee.pMessage else { return VkBool32(VK_FALSE) }
            let log = Unmanaged<ValidationLog>.fromOpaque(user).takeUnretainedValue()
            log.record(Message(isError: severity.rawValue & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue != 0, text: String(cString: text)))
            return VkBool32(VK_FALSE)
        }
        info.pUserData = Unmanaged.passUnretained(self).toOpaque()
        return info
    }
}
