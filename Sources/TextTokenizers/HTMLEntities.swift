/// Python's `html.unescape` for numeric references (`&#233;`, `&#xE9;`, with or without `;`) and the
/// named entities prompts use (HTML5's full table has 2,231; names outside this one stay as they are).
enum HTMLEntities {
    static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©", "reg": "®",
        "trade": "™", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”",
        "laquo": "«", "raquo": "»", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "deg": "°", "times": "×",
        "divide": "÷", "middot": "·", "bull": "•", "eacute": "é", "egrave": "è", "agrave": "à", "aacute": "á",
        "ccedil": "ç", "uuml": "ü", "ouml": "ö", "auml": "ä", "szlig": "ß", "ntilde": "ñ", "iacute": "í", "oacute": "ó",
        "uacute": "ú", "ecirc": "ê", "hearts": "♥", "star": "☆", "para": "¶", "sect": "§", "plusmn": "±", "micro": "µ",
    ]
    /// The names HTML5 also accepts without the `;` (among the ones above).
    static let withoutSemicolon: Set<String> = [
        "amp", "lt", "gt", "quot", "nbsp", "copy", "reg", "laquo", "raquo", "pound", "yen", "cent", "deg", "times", "divide",
        "middot", "eacute", "egrave", "agrave", "aacute", "ccedil", "uuml", "ouml", "auml", "szlig", "ntilde", "iacute",
        "oacute", "uacute", "ecirc", "para", "sect", "plusmn", "micro",
    ]

    /// Invalid code points as Python maps them (0 and surrogates and > 0x10FFFF → U+FFFD).
    static func scalar(_ value: UInt32) -> Unicode.Scalar {
        if value == 0 || value > 0x10FFFF || (0xD800 ... 0xDFFF).contains(value) { return "\u{FFFD}" }
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func isAlnum(_ c: Unicode.Scalar) -> Bool { c.isASCII && (c.properties.isAlphabetic || ("0" ... "9").contains(c)) }
        while i < s.count {
            guard s[i] == "&" else { out.append(s[i]); i += 1; continue }
            var j = i + 1
            if j < s.count, s[j] == "#" {
                j += 1
                let hex = j < s.count && (s[j] == "x" || s[j] == "X")
                if hex { j += 1 }
                let start = j
                while j < s.count, hex ? s[j].properties.isASCIIHexDigit : ("0" ... "9").contains(s[j]) { j += 1 }
                if j > start, let value = UInt32(String(String.UnicodeScalarView(s[start ..< j])), radix: hex ? 16 : 10) {
                    out.append(scalar(value))
                    if j < s.count, s[j] == ";" { j += 1 }
                    i = j
                    continue
                }
                out.append(s[i]); i += 1
                continue
            }
            let start = j
            while j < s.count, isAlnum(s[j]) { j += 1 }
            let name = String(String.UnicodeScalarView(s[start ..< j]))
            if j < s.count, s[j] == ";", let value = named[name] {
                out.append(contentsOf: value.unicodeScalars)
                i = j + 1
            } else if let prefix = (1 ... max(name.count, 1)).reversed().lazy.map({ String(name.prefix($0)) }).first(where: { withoutSemicolon.contains($0) }),
                      !name.isEmpty {
                out.append(contentsOf: named[prefix]!.unicodeScalars)
                i = start + prefix.unicodeScalars.count
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }
}
