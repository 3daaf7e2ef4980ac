import Foundation

/// Why a GGUF file could not be read. Every case names the file; tensor cases name the tensor.
public enum GGUFError: Error, CustomStringConvertible {
    case notGGUF(URL, String)
    case unsupportedVersion(URL, UInt32)
    case truncated(URL, String, offset: Int, fileSize: Int)
    case malformed(URL, String)
    /// A ggml type id this reader cannot decode (an i-quant, Q2_K, …, or a number it does not know).
    case unsupportedType(URL, String, UInt32)
    case badTensor(URL, String, String)
    case outOfRange(URL, String, end: Int, fileSize: Int)
    case overlap(URL, String, String)
    case missingTensor(URL, String)

    public var description: String {
        switch self {
        case .notGGUF(let url, let reason):
            "\(url.path): not a GGUF file: \(reason)"
        case .unsupportedVersion(let url, let version):
            "\(url.path): GGUF version \(version) is not supported (expected 2 or 3; re-export with a current gguf-py or llama.cpp)"
        case .truncated(let url, let what, let offset, let fileSize):
            "\(url.path): \(what) at byte \(offset) runs past the end of the \(fileSize)-byte file (truncated?)"
        case .malformed(let url, let reason):
            "\(url.path): corrupt GGUF header: \(reason)"
        case .unsupportedType(let url, let name, let id):
            "\(url.path): tensor '\(name)' has ggml type \(GGMLType.unsupportedName(id).map { "\($0) (\(id))" } ?? "id \(id)"), which this reader cannot decode (supported: \(GGMLType.allCases.map(\.name).joined(separator: ", ")))"
        case .badTensor(let url, let name, let reason):
            "\(url.path): tensor '\(name)': \(reason)"
        case .outOfRange(let url, let name, let end, let fileSize):
            "\(url.path): tensor '\(name)' ends at byte \(end), past the end of the \(fileSize)-byte file (truncated?)"
        case .overlap(let url, let a, let b):
            "\(url.path): tensors '\(a)' and '\(b)' overlap"
        case .missingTensor(let url, let name):
            "\(url.path): no tensor named '\(name)'"
        }
    }
}
