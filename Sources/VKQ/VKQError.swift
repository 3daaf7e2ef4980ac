import Foundation

public enum VKQError: Error, CustomStringConvertible {
    case notVKQ(URL)
    case unsupportedVersion(URL, UInt32)
    case truncated(URL, String)
    case badHeader(URL, String)
    case headerChecksum(URL)
    case badTensor(URL, String, String)
    case overlap(URL, String, String)
    case checksumMismatch(URL, tensor: String, array: String)
    case missingTensor(URL, String)
    case cannotWrite(URL, String)
    case headerTooLarge(Int, reserved: Int)
    case badPadding(URL, offset: Int, what: String)

    public var description: String {
        switch self {
        case .notVKQ(let url): "\(url.path): not a .vkq file (no VKQ1 magic)"
        case .unsupportedVersion(let url, let v): "\(url.path): .vkq format version \(v) is not supported (this build reads version 1)"
        case .truncated(let url, let what): "\(url.path): truncated: \(what)"
        case .badHeader(let url, let why): "\(url.path): bad header: \(why)"
        case .headerChecksum(let url): "\(url.path): header checksum mismatch (file corrupt)"
        case .badTensor(let url, let name, let why): "\(url.path): tensor '\(name)': \(why)"
        case .overlap(let url, let a, let b): "\(url.path): data of '\(a)' and '\(b)' overlap"
        case .checksumMismatch(let url, let tensor, let array): "\(url.path): tensor '\(tensor)': \(array) checksum mismatch (file corrupt)"
        case .missingTensor(let url, let name): "\(url.path): no tensor named '\(name)'"
        case .cannotWrite(let url, let why): "\(url.path): cannot write: \(why)"
        case .headerTooLarge(let size, let reserved): "internal: header of \(size) bytes exceeds the \(reserved) bytes reserved"
        case .badPadding(let url, let offset, let what): "\(url.path): byte \(offset) of the \(what) is not padding (file corrupt)"
        }
    }
}
