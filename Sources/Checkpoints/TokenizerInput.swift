import Foundation
import VKQ

/// The SentencePiece model given to `convert` next to a text encoder's weights: a `*.model` file, or a
/// folder holding `spiece.model` (the HF `tokenizer/` folder, a `google/umt5-xxl` download, which may
/// hold the weights as well).
struct TokenizerInput {
    var url: URL
    var bytes: Data

    /// Inputs that are weights, and the tokenizer among them (if any). A folder with both is both.
    static func split(_ inputs: [String]) throws -> (weights: [String], tokenizer: TokenizerInput?) {
        var weights: [String] = [], found: [URL] = []
        let fm = FileManager.default
        for path in inputs {
            var isDirectory: ObjCBool = false
            let exists = fm.fileExists(atPath: path, isDirectory: &isDirectory)
            if exists && !isDirectory.boolValue && path.hasSuffix(".model") {
                found.append(URL(fileURLWithPath: path))
                continue
            }
            if exists && isDirectory.boolValue {
                let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
                if names.contains("spiece.model") {
                    found.append(URL(fileURLWithPath: path).appending(path: "spiece.model"))
                    let holdsWeights = names.contains { $0.hasSuffix(".safetensors") || $0.hasSuffix(".pth") || $0.hasSuffix(".safetensors.index.json") }
                    if !holdsWeights { continue }
                }
            }
            weights.append(path)
        }
        guard found.count <= 1 else {
            throw ConvertError.badFlag("several tokenizers given (\(found.map(\.path).joined(separator: ", "))); give one")
        }
        guard let url = found.first else { return (weights, nil) }
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch { throw ConvertError.inputMissing(url.path) }
        // A serialized ModelProto starts with field 1 (pieces), wire type 2: byte 0x0A.
        guard bytes.first == 0x0A else { throw ConvertError.badConfig("\(url.path) is not a SentencePiece model (a serialized ModelProto)") }
        return (weights, TokenizerInput(url: url, bytes: bytes))
    }

    /// `config` with `tokenizer: {format, file, model (base64)}` added.
    func adding(to config: JSONValue) throws -> JSONValue {
        guard var fields = config.objectValue else { throw ConvertError.internalError("text encoder config is not an object") }
        fields["tokenizer"] = .object([
            "format": .string("sentencepiece"),
            "file": .string(url.lastPathComponent),
            "model": .string(bytes.base64EncodedString()),
        ])
        return .object(fields)
    }
}
