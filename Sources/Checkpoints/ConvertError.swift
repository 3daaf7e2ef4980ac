import Foundation

/// Why a conversion refused to go on. Each case names the file, tensor or flag to look at.
public enum ConvertError: Error, CustomStringConvertible {
    case inputMissing(String)
    case inputTwice(String)
    case unsupportedInput(String)
    case duplicateTensor(String, first: String, second: String)
    case unknownFamily(files: [String], hint: String)
    case unsupportedFamily(String)
    case mixedFamilies([String])
    case componentRequired(found: [String])
    case unknownComponent(String, found: [String])
    case unknownTensors([String], family: String, layout: String)
    case missingTensors([String], family: String)
    case shapeMismatch(String, expected: [Int], actual: [Int], source: String)
    case nonFinite(String, source: String, count: Int)
    case badConfig(String)
    case badFlag(String)
    case internalError(String)
    case tokenizerMissing(family: String)
    case tokenizerUnexpected(String, family: String)

    public var description: String {
        switch self {
        case .inputMissing(let path): "\(path): no such file or directory"
        case .inputTwice(let path): "\(path) is given twice"
        case .unsupportedInput(let path): "\(path): not a checkpoint VaceKit reads (.safetensors, .safetensors.index.json, .pth/.pt, .gguf, config.json or a diffusers folder)"
        case .duplicateTensor(let name, let a, let b): "tensor '\(name)' is in both \(a) and \(b)"
        case .unknownFamily(let files, let hint): "cannot tell which model \(files.joined(separator: ", ")) holds (\(hint)); name it with --family"
        case .unsupportedFamily(let name): "family '\(name)' is not supported by this build (supported: \(Families.supported.joined(separator: ", ")))"
        case .mixedFamilies(let found): "the inputs hold different models (\(found.joined(separator: "; "))); convert them in separate calls"
        case .componentRequired(let found): "the input holds several components (\(found.joined(separator: ", "))); choose one with --component"
        case .unknownComponent(let name, let found): "--component \(name): the input holds \(found.joined(separator: ", "))"
        case .unknownTensors(let names, let family, let layout):
            "\(names.count) tensor(s) not known to \(family) (\(layout) layout): \(Self.list(names))"
        case .missingTensors(let names, let family): "\(names.count) tensor(s) that \(family) needs are missing: \(Self.list(names))"
        case .shapeMismatch(let name, let expected, let actual, let source):
            "tensor '\(name)' (from \(source)) has shape \(actual), the config says \(expected)"
        case .nonFinite(let name, let source, let count):
            "tensor '\(name)' (from \(source)) has \(count) NaN/Inf value(s); pass --allow-nonfinite to convert anyway"
        case .badConfig(let why): "config: \(why)"
        case .badFlag(let why): why
        case .internalError(let why): "internal error: \(why)"
        case .tokenizerMissing(let family):
            "\(family) needs its tokenizer: give the SentencePiece model too (a spiece.model file, or the folder holding it, e.g. the HF tokenizer/ folder)"
        case .tokenizerUnexpected(let path, let family): "\(path): a tokenizer, but \(family) has none"
        }
    }

    private static func list(_ names: [String]) -> String {
        names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", … (\(names.count - 8) more)" : "")
    }
}
