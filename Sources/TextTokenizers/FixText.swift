import Foundation

/// The parts of ftfy's `fix_text` (ftfy 6, default configuration) that prompts meet, in its order:
/// HTML entities unescaped when the text has no `<` (`unescape_html='auto'`), mojibake undone
/// (`fix_encoding`: a run of Windows-1252 / Latin-1 characters that re-encodes to valid, multi-byte
/// UTF-8, such as `cafÃ©` → `café`), Latin ligatures split (`ﬁ` → `fi`), full-width ASCII and the
/// ideographic space made half-width (`fix_character_width`), curly quotes straightened
/// (`uncurl_quotes`), line breaks unified, control characters and byte-order marks removed, then NFC.
/// Not covered: ftfy's finer mojibake heuristics (mixed encodings inside one run, `sloppy` codecs
/// other than Windows-1252, the C1-control and lossy-sequence repairs) and terminal escapes.
enum FixText {
    static func apply(_ text: String) -> String {
        var t = text
        if !t.contains("<") { t = HTMLEntities.unescape(t) }
        t = fixEncoding(t)
        var out = String.UnicodeScalarView()
        let scalars = Array(t.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            i += 1
            switch s.value {
            case 0xFB00: out.append(contentsOf: "ff".unicodeScalars)
            case 0xFB01: out.append(contentsOf: "fi".unicodeScalars)
            case 0xFB02: out.append(contentsOf: "fl".unicodeScalars)
            case 0xFB03: out.append(contentsOf: "ffi".unicodeScalars)
            case 0xFB04: out.append(contentsOf: "ffl".unicodeScalars)
            case 0xFB05, 0xFB06: out.append(contentsOf: "st".unicodeScalars)
            case 0xFF01 ... 0xFF5E: out.append(Unicode.Scalar(s.value - 0xFF01 + 0x21)!)
            case 0x3000: out.append(" ")
            case 0x02BC, 0x2018 ... 0x201B: out.append("'")
            case 0x201C ... 0x201F: out.append("\"")
            case 0x0D:  // \r\n and \r → \n
                out.append("\n")
                if i < scalars.count, scalars[i] == "\n" { i += 1 }
            case 0x2028, 0x2029, 0x85: out.append("\n")
            case 0x00 ... 0x08, 0x0B, 0x0E ... 0x1F, 0x7F, 0x206A ... 0x206F, 0xFEFF, 0xFFF9 ... 0xFFFC, 0xE0000 ... 0xE007F: continue
            default: out.append(s)
            }
        }
        return String(out).precomposedStringWithCanonicalMapping
    }

    /// Windows-1252 bytes of the characters 0x80–0x9F that Windows-1252 assigns (the rest of Latin-1 is
    /// its own byte).
    static let cp1252: [UInt32: UInt8] = [
        0x20AC: 0x80, 0x201A: 0x82, 0x0192: 0x83, 0x201E: 0x84, 0x2026: 0x85, 0x2020: 0x86, 0x2021: 0x87, 0x02C6: 0x88,
        0x2030: 0x89, 0x0160: 0x8A, 0x2039: 0x8B, 0x0152: 0x8C, 0x017D: 0x8E, 0x2018: 0x91, 0x2019: 0x92, 0x201C: 0x93,
        0x201D: 0x94, 0x2022: 0x95, 0x2013: 0x96, 0x2014: 0x97, 0x02DC: 0x98, 0x2122: 0x99, 0x0161: 0x9A, 0x203A: 0x9B,
        0x0153: 0x9C, 0x017E: 0x9E, 0x0178: 0x9F,
    ]

    static func byte(_ s: Unicode.Scalar) -> UInt8? {
        if s.value < 0x80 || (0xA0 ... 0xFF).contains(s.value) || (0x80 ... 0x9F).contains(s.value) { return UInt8(s.value) }
        return cp1252[s.value]
    }

    /// Each maximal run of characters that have a Windows-1252 byte, holding a non-ASCII one, is
    /// replaced by its bytes decoded as UTF-8 when they decode and hold a multi-byte sequence.
    static func fixEncoding(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard byte(scalars[i]) != nil else { out.append(scalars[i]); i += 1; continue }
            var j = i
            while j < scalars.count, byte(scalars[j]) != nil { j += 1 }
            let run = scalars[i ..< j]
            let bytes = run.map { byte($0)! }
            if bytes.contains(where: { $0 >= 0x80 }), let decoded = String(validatingUTF8CString: bytes), decoded.unicodeScalars.count < run.count {
                out.append(contentsOf: decoded.unicodeScalars)
            } else {
                out.append(contentsOf: run)
            }
            i = j
        }
        return String(out)
    }
}

extension String {
    /// Strict UTF-8 decoding of `bytes` (nil when they are not valid UTF-8).
    init?(validatingUTF8CString bytes: [UInt8]) {
        var result = String.UnicodeScalarView()
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): result.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(result)
    }
}
