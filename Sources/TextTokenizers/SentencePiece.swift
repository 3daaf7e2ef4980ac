import CSentencePiece
import Foundation

/// A SentencePiece model (through the C shim over libsentencepiece), loaded from its serialized bytes.
public final class SentencePiece: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = NSLock()

    public init(model bytes: Data) throws {
        var error = [CChar](repeating: 0, count: 512)
        let loaded = bytes.withUnsafeBytes { raw in vk_spm_load(raw.baseAddress, raw.count, &error, error.count) }
        guard let loaded else { throw TokenizerError.badModel(Self.message(error)) }
        handle = loaded
    }

    deinit { vk_spm_free(handle) }

    /// The shim's NUL-terminated error text.
    private static func message(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Piece ids of `text` (no special tokens added).
    public func encode(_ text: String) throws -> [Int32] {
        var utf8 = Array(text.utf8)
        if utf8.isEmpty { return [] }
        var error = [CChar](repeating: 0, count: 512)
        var capacity = utf8.count + 16
        while true {
            var ids = [Int32](repeating: 0, count: capacity)
            let n = lock.withLock {
                utf8.withUnsafeMutableBufferPointer { text in
                    text.baseAddress!.withMemoryRebound(to: CChar.self, capacity: text.count) {
                        vk_spm_encode(handle, $0, text.count, &ids, Int32(capacity), &error, error.count)
                    }
                }
            }
            guard n >= 0 else { throw TokenizerError.encoding(Self.message(error)) }
            if Int(n) <= capacity { return Array(ids[0 ..< Int(n)]) }
            capacity = Int(n)
        }
    }

    public var pieceCount: Int { Int(vk_spm_piece_count(handle)) }
    /// The model's own special ids (-1 when it has none).
    public var eosID: Int32 { vk_spm_eos_id(handle) }
    public var padID: Int32 { vk_spm_pad_id(handle) }
    public var unkID: Int32 { vk_spm_unk_id(handle) }
    public var bosID: Int32 { vk_spm_bos_id(handle) }
    public func id(of piece: String) -> Int32 { vk_spm_piece_to_id(handle, piece) }
}

public enum TokenizerError: Error, CustomStringConvertible {
    case badModel(String)
    case encoding(String)
    case noTokenizer(family: String)
    case badConfig(String)

    public var description: String {
        switch self {
        case .badModel(let why): "the SentencePiece model does not load: \(why)"
        case .encoding(let why): "SentencePiece could not encode the prompt: \(why)"
        case .noTokenizer(let family): "this \(family) file holds no tokenizer (convert it again with its spiece.model: vacekit convert WEIGHTS TOKENIZER -o TEXT.vkq)"
        case .badConfig(let why): "tokenizer config: \(why)"
        }
    }
}
