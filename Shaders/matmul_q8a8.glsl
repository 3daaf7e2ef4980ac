// W8A8 linear: out[m][n] = sx[m] · Σ_g sw[n][g] · Σ_{k ∈ g} qx[m][k] · qw[n][k] (+ bias[n]),
// for a q8 weight W [N, K] (int8 qw, f16 scale sw per group of `group` columns of a row) and
// activations already quantized per row by quantize_rows.glsl (int8 qx, f32 scale sx[m]).
//
// Four k at a time through the packed 4×8-bit signed dot product: activation words as they are,
// weight words re-aligned to each group's start (a row or group need not start on a word: K and
// `group` may be any size). The int32 sums of a group are exact
// (|Σ| ≤ 127² · group, far inside int32 for any real row); at the end of each weight group they
// are scaled by sw into an f32 accumulator, and sx is applied once in the epilogue. The same
// products and the same order of scaling as the CPU backend's W8A8 kernels.
//
// Tiles as in gemm.glsl: a BM × BN output tile per workgroup, an 8 × 8 register tile per
// invocation, BKW words (4·BKW k) of one group staged per step; steps never cross a group, so the
// sums of a group are complete when its last step ends. A dispatch covers rows 0..<M of its
// activation binding and weight rows 0..<N of its weight binding, which are columns nOffset… of
// the output rows (`ldOut` apart), as in matmul.glsl.
//
// Specialization constants: 0 = BM, 1 = BN, 2 = BKW, 3 = invocations ((BM / 8) · (BN / 8)).
// Grid: x over tiles of n, y over tiles of m. Needs shaderIntegerDotProduct.
#extension GL_EXT_spirv_intrinsics : require
#include "act.glsl"

layout(std430, set = 0, binding = 0) readonly buffer PackedActivations { uint actWords[]; };
#define WEIGHT_BINDING 1
#define SCALE_BINDING 2
ACT_INPUT(3, Bias)
ACT_OUTPUT(4, Out)

layout(push_constant) uniform Params {
    uint M, N, K;
    uint strideWords, actScaleBase;  // quantize_rows.glsl's layout: words per row, where the row scales start
    uint weightBase, scaleBase, group, groupsPerRow, wordsPerGroup;
    uint biasBase, outBase, ldOut;
    uint flags;  // bit 1: bias is f16; bit 2: add bias
} p;

#include "weights.glsl"

// OpSDot (SPV_KHR_integer_dot_product) of two words of four signed 8-bit lanes
// (PackedVectorFormat4x8Bit = 0), one instruction on dp4a-class hardware. The plain form rather
// than OpSDotAccSat: integerDotProduct4x8BitPackedSignedAccelerated, which the backend checks, is
// about this one, the sums cannot overflow, and compilers fuse the add where the hardware
// accumulates. Declared through GL_EXT_spirv_intrinsics because the glslang this project builds
// with predates GL_EXT_integer_dot_product. Capabilities: DotProduct (6019),
// DotProductInput4x8BitPacked (6018).
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int dot4x8(int a, int b, spirv_literal int packedVectorFormat);

#define TM 8
#define TN 8
layout(local_size_x_id = 3) in;
layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BKW = 8;
layout(constant_id = 3) const uint GEMM_THREADS = 64;

// Padded by one word per row, as gemm.glsl's tiles (staging stores fall in different banks).
shared uint tileX[BKW * (BM + 1)];
shared uint tileW[BKW * (BN + 1)];
shared float tileScale[BN];

// Four weight bytes from byte `e` of the weight binding as one packed word. Only the first `count`
// (1…4) matter: past a group's end the activation lanes are zero (quantize_rows.glsl pads them).
// The second word is read only when those bytes reach into it, so nothing past the tensor's last
// word is touched.
uint weightWord(uint e, uint count) {
    uint offset = e & 3u;
    uint word = weightWords[e >> 2];
    if (offset == 0u) return word;
    word >>= offset * 8u;
    return offset + count > 4u ? word | (weightWords[(e >> 2) + 1u] << (32u - offset * 8u)) : word;
}

void main() {
    const uint threadsJ = BN / TN;
    uint tid = gl_LocalInvocationID.x;
    uint tj = tid % threadsJ, ti = tid / threadsJ;
    uint i0 = gl_WorkGroupID.y * BM, j0 = gl_WorkGroupID.x * BN;
    float acc[TM * TN];
    int sums[TM * TN];
    for (uint a = 0u; a < TM * TN; a++) acc[a] = 0.0;

    for (uint g = 0u; g < p.groupsPerRow; g++) {
        for (uint a = 0u; a < TM * TN; a++) sums[a] = 0;
        for (uint w0 = 0u; w0 < p.wordsPerGroup; w0 += BKW) {
            uint words = min(BKW, p.wordsPerGroup - w0);
            // Consecutive invocations load consecutive words of one row: contiguous reads.
            for (uint e = tid; e < BM * words; e += GEMM_THREADS) {
                uint r = e / words, kw = e % words, i = i0 + r;
                tileX[kw * (BM + 1u) + r] = i < p.M ? actWords[i * p.strideWords + g * p.wordsPerGroup + w0 + kw] : 0u;
            }
            for (uint e = tid; e < BN * words; e += GEMM_THREADS) {
                uint r = e / words, kw = e % words, j = j0 + r;
                uint column = (w0 + kw) * 4u;  // within the group
                tileW[kw * (BN + 1u) + r] = j < p.N
                    ? weightWord(p.weightBase + j * p.K + g * p.group + column, min(4u, p.group - column)) : 0u;
            }
            if (w0 == 0u) {
                for (uint r = tid; r < BN; r += GEMM_THREADS) {
                    uint j = j0 + r;
                    tileScale[r] = j < p.N ? halfFromWords(p.scaleBase + j * p.groupsPerRow + g) : 0.0;
                }
            }
            barrier();
            for (uint kw = 0u; kw < words; kw++) {
                int x[TM], w[TN];
                for (uint m = 0u; m < TM; m++) x[m] = int(tileX[kw * (BM + 1u) + ti + m * (BM / TM)]);
                for (uint n = 0u; n < TN; n++) w[n] = int(tileW[kw * (BN + 1u) + tj + n * (BN / TN)]);
                for (uint m = 0u; m < TM; m++)
                    for (uint n = 0u; n < TN; n++) sums[m * TN + n] += dot4x8(x[m], w[n], 0);
            }
            // The group's last step: scale its sums in before the barrier, after which the next
            // group's first step overwrites tileScale.
            if (w0 + BKW >= p.wordsPerGroup) {
                for (uint m = 0u; m < TM; m++)
                    for (uint n = 0u; n < TN; n++)
                        acc[m * TN + n] += float(sums[m * TN + n]) * tileScale[tj + n * (BN / TN)];
            }
            barrier();
        }
    }

    for (uint m = 0u; m < TM; m++) {
        uint i = i0 + ti + m * (BM / TM);
        if (i >= p.M) continue;
        float rowScale = uintBitsToFloat(actWords[p.actScaleBase + i]);
        for (uint n = 0u; n < TN; n++) {
            uint j = j0 + tj + n * (BN / TN);
            if (j >= p.N) continue;
            float value = acc[m * TN + n] * rowScale;
            if ((p.flags & 4u) != 0u) value += ACT_LOAD(Bias, p.biasBase + j, isHalfInput(p.flags, 1u));
            ACT_STORE(Out, p.outBase + i * p.ldOut + j, value);
        }
    }
}
