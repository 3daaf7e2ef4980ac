// Activation rows to int8 for the W8A8 linear (matmul_q8a8.glsl): per row of x a symmetric scale
// s = max|x| / 127 and q = round(x · 127 / max|x|) in ±127 — the CPU backend's W8A8 formula
// (vk_prep_s8_portable), so both backends multiply the same int8 values.
//
// One scale per row, not per 32 columns: a row scale is a common factor of the whole dot product,
// so the GEMM applies it once in its epilogue and its int32 sums break only at the weight's own
// groups (a single group per row for most .vkq weights). Scales per 32 columns would force an
// int → float step every 32 k even for per-row weights, and would have to line up with weight
// groups of any size. The cost is precision on rows with an outlier (it coarsens the whole row),
// the same trade-off the CPU W8A8 mode makes.
//
// Output, one binding of 32-bit words: M rows of `strideWords` words, each weight group of a row
// starting on a word boundary (`wordsPerGroup` words of four int8, lowest byte first, zero-padded),
// so no packed word straddles two weight groups and the GEMM needs no masking of activations;
// then M f32 scales from word `scaleBase`.
//
// One workgroup per row (x-major 2-D grid): a shared-memory max, then the packed words.
#include "act.glsl"

#define QUANTIZE_THREADS 128
layout(local_size_x = QUANTIZE_THREADS) in;

ACT_INPUT(0, X)
layout(std430, set = 0, binding = 1) writeonly buffer PackedWords { uint packedWords[]; };

layout(push_constant) uniform Params {
    uint M, K;
    uint xBase;
    uint group, wordsPerGroup, strideWords;
    uint scaleBase;
    uint flags;  // bit 0: x is f16
} p;

shared float partialMax[QUANTIZE_THREADS];

float loadX(uint m, uint k) { return ACT_LOAD(X, p.xBase + m * p.K + k, isHalfInput(p.flags, 0u)); }

void main() {
    uint m = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (m >= p.M) return;  // whole workgroups only: the barriers below stay uniform
    uint tid = gl_LocalInvocationID.x;

    float top = 0.0;
    for (uint k = tid; k < p.K; k += QUANTIZE_THREADS) top = max(top, abs(loadX(m, k)));
    partialMax[tid] = top;
    barrier();
    for (uint width = QUANTIZE_THREADS / 2u; width > 0u; width >>= 1) {
        if (tid < width) partialMax[tid] = max(partialMax[tid], partialMax[tid + width]);
        barrier();
    }
    float amax = partialMax[0];
    float inverse = amax > 0.0 ? 127.0 / amax : 0.0;

    for (uint w = tid; w < p.strideWords; w += QUANTIZE_THREADS) {
        uint g = w / p.wordsPerGroup;
        uint k0 = g * p.group + (w % p.wordsPerGroup) * 4u;
        uint end = min((g + 1u) * p.group, p.K);
        uint word = 0u;
        for (uint i = 0u; i < 4u && k0 + i < end; i++) {
            int q = int(clamp(roundEven(loadX(m, k0 + i) * inverse), -127.0, 127.0));
            word |= (uint(q) & 0xFFu) << (8u * i);
        }
        packedWords[m * p.strideWords + w] = word;
    }
    if (tid == 0u) packedWords[p.scaleBase + m] = floatBitsToUint(amax / 127.0);
}
