import Tensors

/// Byte-level mutations: bit flips, interesting integers written over 1/2/4/8 bytes (sizes, offsets and
/// counts are little-endian integers in every format), truncation, chunk duplication, random bytes.
public struct ByteMutator {
    var random: SplitMix64
    public init(seed: UInt64) { random = SplitMix64(seed: seed) }
    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(random.next() % UInt64(n)) }
    public static let interesting: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32, 1 << 40,
                                               0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max, UInt64.max - 7]

    public mutating func mutate(_ seed: [UInt8], within region: Range<Int>? = nil) -> [UInt8] {
        var bytes = seed
        let region = region ?? 0 ..< bytes.count
        for _ in 0 ... below(3) {
            guard region.lowerBound < bytes.count else { break }
            let at = region.lowerBound + below(min(region.count, bytes.count - region.lowerBound))
            switch below(6) {
            case 0: bytes[at] ^= UInt8(1) << UInt8(below(8))
            case 1:
                let value = Self.interesting[below(Self.interesting.count)], width = [1, 2, 4, 8][below(4)]
                for k in 0 ..< width where at + k < bytes.count { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            case 2: bytes.removeSubrange(at...)
            case 3:
                let length = min(1 + below(32), bytes.count - at)
                bytes.insert(contentsOf: bytes[at ..< at + length], at: below(bytes.count))
            case 4: bytes[at] = UInt8(truncatingIfNeeded: random.next())
            default:  // an ASCII digit or JSON punctuation: reaches deeper into the JSON headers
                bytes[at] = Array("0123456789-.,:[]{}\"e".utf8)[below(20)]
            }
        }
        return bytes
    }
}
