import Tensors

/// Wan's (1, 2, 2) patches. Note the two orders (spec §3.1, §3.6): the patch embedding reads
/// `c·4 + a·2 + b` (channel outermost), the head writes `(a·2 + b)·C + c` (channel innermost).
enum Patchify {
    /// `[B, C, F, H, W]` → tokens `[B, F·H/2·W/2, C·4]`, token n = (f·Hp + i)·Wp + j.
    static func tokens(_ video: Tensor, on b: any Backend) throws -> Tensor {
        let (batch, c, f, h, w) = (video.shape[0], video.shape[1], video.shape[2], video.shape[3], video.shape[4])
        let split = try b.reshape(video, [batch, c, f, h / 2, 2, w / 2, 2])          // B C F Hp a Wp b
        let ordered = try b.permute(split, [0, 2, 3, 5, 1, 4, 6])                      // B F Hp Wp C a b
        return try b.reshape(ordered, [batch, f * (h / 2) * (w / 2), c * 4])
    }

    /// Head output `[B, N, 4·C]` in (a, b, c) order → `[B, C, F, 2·Hp, 2·Wp]`.
    static func video(_ tokens: Tensor, frames f: Int, height hp: Int, width wp: Int, channels c: Int, on b: any Backend) throws -> Tensor {
        let batch = tokens.shape[0]
        let split = try b.reshape(tokens, [batch, f, hp, wp, 2, 2, c])                  // B F Hp Wp a b C
        let ordered = try b.permute(split, [0, 6, 1, 2, 4, 3, 5])                       // B C F Hp a Wp b
        return try b.reshape(ordered, [batch, c, f, hp * 2, wp * 2])
    }
}
