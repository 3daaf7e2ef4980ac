import Foundation

/// The PixArt caption cleaner (`_clean_caption` of diffusers' PixArtAlphaPipeline, which LTX-Video's
/// pipeline copies), run twice when `--clean-caption` is given. Covered: URL removal, lower-casing,
/// `@nickname` removal, CJK punctuation and dash/quote normalisation, HTML-entity and `#123` style
/// tokens, file names, repeated punctuation, whitespace. Not covered: the BeautifulSoup HTML-tag
/// stripping (tags are removed with a simple `<…>` pattern instead) and ftfy's full repair.
enum CaptionCleaner {
    private static func sub(_ pattern: String, _ template: String, _ text: String, caseInsensitive: Bool = false) -> String {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : []) else { return text }
        return regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
    }

    static func clean(_ caption: String) -> String {
        var c = caption.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "+", with: " ")  // urllib unquote_plus
        c = c.removingPercentEncoding ?? c
        c = Whitespace.strip(c).lowercased()
        c = sub("<person>", "person", c)
        c = sub(#"\b((?:https?:(?:\/{1,3}|[a-zA-Z0-9%])|[a-zA-Z0-9.\-]+[.](?:com|co|ru|net|org|edu|gov|it)[\w/-]*\b\/?(?!@)))"#, "", c)
        c = sub(#"\b((?:www:(?:\/{1,3}|[a-zA-Z0-9%])|[a-zA-Z0-9.\-]+[.](?:com|co|ru|net|org|edu|gov|it)[\w/-]*\b\/?(?!@)))"#, "", c)
        c = sub("<[^>]*>", " ", c)
        c = sub(#"@[\w\d]+\b"#, "", c)
        c = sub(#"[\u31c0-\u31ef]+|[\u31f0-\u31ff]+|[\u3200-\u32ff]+|[\u3300-\u33ff]+|[\u3400-\u4dbf]+|[\u4dc0-\u4dff]+|[\u4e00-\u9fff]+"#, "", c)
        c = sub(#"[\u002D\u058A\u05BE\u1400\u1806\u2010-\u2015\u2E17\u2E1A\u2E3A\u2E3B\u2E40\u301C\u3030\u30A0\uFE31\uFE32\uFE58\uFE63\uFF0D]+"#, "-", c)
        c = sub("[`´«»“”¨]", "\"", c)
        c = sub("[‘’]", "'", c)
        c = sub("&quot;?", "", c)
        c = sub("&amp", "", c)
        c = sub(#"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"#, " ", c)
        c = sub(#"\d:\d\d\s+$"#, "", c)
        c = sub(#"\\n"#, " ", c)
        c = sub(#"#\d{1,3}\b"#, "", c)
        c = sub(#"#\d{5,}\b"#, "", c)
        c = sub(#"\b\d{6,}\b"#, "", c)
        c = sub(#"[\S]+\.(?:png|jpg|jpeg|bmp|webp|eps|pdf|apk|mp4)"#, "", c)
        c = sub(#"[\"']{2,}"#, "\"", c)
        c = sub(#"[\.]{2,}"#, " ", c)
        c = sub(#"[\#\]\[\}\{\|\\\/\*]{1,}"#, " ", c)  // bad punctuation, as in the original
        c = sub(#"\s+\.\s+"#, " ", c)
        if let regex = try? NSRegularExpression(pattern: #"(?:\-|\_)"#), regex.numberOfMatches(in: c, range: NSRange(c.startIndex..., in: c)) > 3 {
            c = sub(#"(?:\-|\_)"#, " ", c)
        }
        c = HTMLEntities.unescape(HTMLEntities.unescape(FixText.apply(c)))
        c = sub(#"\b[a-zA-Z]{1,3}\d{3,15}\b"#, "", c)
        c = sub(#"\b[a-zA-Z]+\d+[a-zA-Z]+\b"#, "", c)
        c = sub(#"\b\d+[a-zA-Z]+\d+\b"#, "", c)
        c = sub(#"(worldwide\s+)?(free\s+)?shipping"#, "", c)
        c = sub(#"(free\s)?download(\sfree)?"#, "", c)
        c = sub(#"\bclick\b\s(?:for|on)\s\w+"#, "", c)
        c = sub(#"\b(?:png|jpg|jpeg|bmp|webp|eps|pdf|apk|mp4)(\simage[s]?)?"#, "", c)
        c = sub(#"\bpage\s+\d+\b"#, "", c)
        c = sub(#"\b\d*[a-zA-Z]+\d+[a-zA-Z]+\d+[a-zA-Z\d]*\b"#, " ", c)
        c = sub(#"\b\d+\.?\d*[xх×]\d+\.?\d*\b"#, "", c)
        c = sub(#"\b\s+\:\s+"#, ": ", c)
        c = sub(#"(\D[,\./])\b"#, "$1 ", c)
        c = sub(#"\s+"#, " ", c)
        c = Whitespace.strip(c)
        c = sub(#"^[\"\']([\w\W]+)[\"\']$"#, "$1", c)
        c = sub(#"^[\'\_,\-\:;]"#, "", c)
        c = sub(#"[\'\_,\-\:\-\+]$"#, "", c)
        c = sub(#"^\."#, "", c)
        return Whitespace.strip(c)
    }
}
