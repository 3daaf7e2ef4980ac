/// Copies `source` [channelCount, sourceFrames, plane] into `out` [channels, totalFrames, plane] at
/// (channelOffset, frameOffset): how both VACE contexts stack the reference latents, the inactive and
/// reactive latents and the folded mask along channels and time (VACE paper, Fig. 2; the `vace_encode_*`
/// steps of the original Wan and LTX code).
func placeFrames(_ source: [Float], sourceFrames: Int, channelCount: Int, into out: inout [Float],
                 totalFrames: Int, plane: Int, channelOffset: Int, frameOffset: Int) {
    for ch in 0 ..< channelCount {
        for fr in 0 ..< sourceFrames {
            let src = (ch * sourceFrames + fr) * plane
            let dst = ((channelOffset + ch) * totalFrames + frameOffset + fr) * plane
            out.replaceSubrange(dst ..< dst + plane, with: source[src ..< src + plane])
        }
    }
}
