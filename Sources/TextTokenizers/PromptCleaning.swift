import Foundation

/// Each reference pipeline's prompt clean-up before tokenization.
///
/// - `wan`: Wan's HuggingfaceTokenizer with `clean='whitespace'` (wan/modules/tokenizers.py):
///   `whitespace_clean(basic_clean(text))`, i.e. ftfy's `fix_text`, `html.unescape` twice, strip, runs of
///   whitespace collapsed to one space; no lower-casing. `FixText` covers the parts of ftfy's default
///   fixes that prompts meet (see there).
/// - `ltx`: LTX-Video 0.9.1's `_text_preprocessing` without caption cleaning: `text.lower().strip()`;
///   with `cleanCaption` the PixArt caption cleaner (`CaptionCleaner`) the VACE-LTX pipeline runs when
///   its optional packages are installed.
public enum PromptCleaning: String, Sendable {
    case wan, ltx

    public func apply(_ text: String, cleanCaption: Bool = false) -> String {
        switch self {
        case .wan:
            var t = FixText.apply(text)
            t = HTMLEntities.unescape(HTMLEntities.unescape(t))
            return Whitespace.collapse(Whitespace.strip(t))
        case .ltx:
            if cleanCaption { return CaptionCleaner.clean(CaptionCleaner.clean(text)) }
            return Whitespace.strip(text.lowercased())
        }
    }
}

/// Python's `str.isspace` / `\s` on str, `strip()` and `re.sub(r"\s+", " ", text)`.
enum Whitespace {
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C ... 0x1F).contains(s.value)
    }

    static func strip(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[first ... last])
        return String(out)
    }

    static func collapse(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var inRun = false
        for s in text.unicodeScalars {
            if isSpace(s) {
                if !inRun { out.append(" ") }
                inRun = true
            } else {
                out.append(s)
                inRun = false
            }
        }
        return String(out)
    }
}
