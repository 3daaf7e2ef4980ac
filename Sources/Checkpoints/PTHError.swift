import Foundation

/// Why a PyTorch `.pth`/`.pt` checkpoint could not be read. Every case names the file; pickle errors
/// give the byte offset inside `data.pkl`, tensor errors the tensor.
public enum PTHError: Error, CustomStringConvertible {
    /// The pickle names a global outside the allow-list (`os.system`, `builtins.eval`, …).
    case forbiddenGlobal(URL, String)
    case unsupportedOpcode(URL, opcode: UInt8, offset: Int)
    case malformedPickle(URL, offset: Int, String)
    /// The file is a torch.save from before PyTorch 1.6 (a bare pickle stream, not a ZIP).
    case legacyFormat(URL)
    case notCheckpoint(URL, String)
    case bigEndian(URL)
    case badTensor(URL, String, String)
    case missingStorage(URL, String, entry: String)
    case noTensors(URL, found: String)
    case missingTensor(URL, String)

    public var description: String {
        switch self {
        case .forbiddenGlobal(let url, let name):
            "\(url.path): data.pkl refers to '\(name)', which a weights file never needs; refusing to load it (only OrderedDict, torch storages and tensor rebuild functions are allowed)"
        case .unsupportedOpcode(let url, let opcode, let offset):
            "\(url.path): data.pkl byte \(offset): pickle opcode 0x\(String(opcode, radix: 16)) (\(Self.printable(opcode))) is not supported by this reader (expected a plain torch.save state dict)"
        case .malformedPickle(let url, let offset, let reason):
            "\(url.path): data.pkl byte \(offset): \(reason)"
        case .legacyFormat(let url):
            "\(url.path): saved in the legacy (pre-1.6) torch.save format; re-save it with torch.save from PyTorch ≥ 1.6 or convert it to safetensors"
        case .notCheckpoint(let url, let reason):
            "\(url.path): not a PyTorch checkpoint: \(reason)"
        case .bigEndian(let url):
            "\(url.path): storages are big-endian (byteorder file says so); only little-endian checkpoints are supported"
        case .badTensor(let url, let name, let reason):
            "\(url.path): tensor '\(name)': \(reason)"
        case .missingStorage(let url, let name, let entry):
            "\(url.path): tensor '\(name)': its storage '\(entry)' is not in the archive (truncated or repacked file?)"
        case .noTensors(let url, let found):
            "\(url.path): no tensors found (the pickle holds \(found); expected a state dict of tensors)"
        case .missingTensor(let url, let name):
            "\(url.path): no tensor named '\(name)'"
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21 ... 0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "non-ASCII"
    }
}
