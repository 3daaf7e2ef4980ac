// Fused multi-head attention with an online softmax (Backend.attention), flash-attention style:
// a workgroup owns BQ queries of one (batch, head); it loops over the keys in tiles of BKV, staging
// K and then V through shared memory. Per tile: scores S = (q/√D)·kᵀ [BQ, BKV] (masked keys → −∞),
// then per query the running max m and sum l are updated in f32 (rescaling what was accumulated),
// and acc += exp(S − m)·V. The Nq × Nk score matrix never exists. out = acc / l (0 if every key is
// masked, as the CPU backend does).
// With a bias (the T5 relative-position bias, flags bit 6) the scores are scale·q·kᵀ + bias[b, h, i, j],
// bias [Bb, H, Nq, Nk] (batch stride 0 when it is shared); T5 passes scale 1.
//
// q, out: [B, Nq, H·D]; k, v: [B, Nk, H·D]; keyMask: [B, Nk], 1 = attend. Grid: x = query blocks,
// y = heads, z = batch items. The host may split the queries over several dispatches.
#include "act.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint THREADS = 128;
layout(constant_id = 1) const uint D = 64;        // head dim
layout(constant_id = 2) const uint BQ = 16;       // queries per workgroup
layout(constant_id = 3) const uint BKV = 32;      // keys per tile
layout(constant_id = 4) const uint ITEMS = 2;     // ceil(BQ / 4 · D / THREADS): P·V items per invocation
// Register blocking: a score item is 4 queries × 1 key, a P·V item 4 queries × 1 column, so each
// value read from shared memory feeds 4 FMAs (4 + 1 reads per 4 FMAs instead of 2 per FMA).
#define RB 4u

ACT_INPUT(0, Q)
ACT_INPUT(1, K)
ACT_INPUT(2, V)
ACT_INPUT(3, Mask)
ACT_OUTPUT(4, Out)
ACT_INPUT(5, Bias)

layout(push_constant) uniform Params {
    uint queries, keys, width;                    // Nq of this dispatch, Nk, H·D
    uint qBase, kBase, vBase, maskBase, outBase;
    uint qBatchStride, kvBatchStride, maskBatchStride, outBatchStride;
    uint flags;                                    // bits 0–3: q, k, v, mask are f16; bit 4: mask present;
                                                   // bit 5: bias is f16; bit 6: bias present
    float scale;                                   // 1/√D (attention), as given (with a bias)
    uint biasBase, biasBatchStride, biasHeadStride; // biasBase includes this dispatch's first query row
} p;

shared float qTile[BQ * D];
// K/V rows are padded by one float: in the score loop consecutive invocations read consecutive keys,
// which would otherwise all hit one bank.
#define KV_STRIDE (D + 1u)
shared float kvTile[BKV * KV_STRIDE];
shared float scores[BQ * BKV];
shared float rowMax[BQ];
shared float rowSum[BQ];
shared float rowRescale[BQ];

#define NEG_INF uintBitsToFloat(0xFF800000u)

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint q0 = gl_WorkGroupID.x * BQ, head = gl_WorkGroupID.y, batch = gl_WorkGroupID.z;
    uint qStart = p.qBase + batch * p.qBatchStride + head * D;
    uint kStart = p.kBase + batch * p.kvBatchStride + head * D;
    uint vStart = p.vBase + batch * p.kvBatchStride + head * D;
    uint maskStart = p.maskBase + batch * p.maskBatchStride;
    bool hasMask = (p.flags & 16u) != 0u;
    bool hasBias = (p.flags & 64u) != 0u;
    uint biasStart = p.biasBase + batch * p.biasBatchStride + head * p.biasHeadStride;

    for (uint e = tid; e < BQ * D; e += THREADS) {
        uint r = e / D, d = e % D;
        qTile[e] = q0 + r < p.queries ? ACT_LOAD(Q, qStart + (q0 + r) * p.width + d, isHalfInput(p.flags, 0u)) * p.scale : 0.0;
    }
    if (tid < BQ) {
        rowMax[tid] = NEG_INF;
        rowSum[tid] = 0.0;
    }
    float acc[ITEMS * RB];
    for (uint a = 0u; a < ITEMS * RB; a++) acc[a] = 0.0;

    for (uint k0 = 0u; k0 < p.keys; k0 += BKV) {
        barrier();  // the previous tile's P·V is done with kvTile (and, the first time, qTile is loaded)
        for (uint e = tid; e < BKV * D; e += THREADS) {
            uint j = e / D, d = e % D;
            kvTile[j * KV_STRIDE + d] = k0 + j < p.keys ? ACT_LOAD(K, kStart + (k0 + j) * p.width + d, isHalfInput(p.flags, 1u)) : 0.0;
        }
        barrier();
        for (uint e = tid; e < BQ / RB * BKV; e += THREADS) {
            uint r0 = e / BKV * RB, j = e % BKV, key = k0 + j;
            bool valid = key < p.keys && (!hasMask || ACT_LOAD(Mask, maskStart + key, isHalfInput(p.flags, 3u)) != 0.0);
            float s[RB];
            for (uint i = 0u; i < RB; i++) s[i] = 0.0;
            for (uint d = 0u; d < D; d++) {
                float k = kvTile[j * KV_STRIDE + d];
                for (uint i = 0u; i < RB; i++) s[i] = fma(qTile[(r0 + i) * D + d], k, s[i]);
            }
            if (hasBias && valid) {
                for (uint i = 0u; i < RB; i++) {
                    uint row = q0 + r0 + i;
                    if (row < p.queries) s[i] += ACT_LOAD(Bias, biasStart + row * p.keys + key, isHalfInput(p.flags, 5u));
                }
            }
            for (uint i = 0u; i < RB; i++) scores[(r0 + i) * BKV + j] = valid ? s[i] : NEG_INF;
        }
        barrier();
        // Online softmax, one invocation per query row; meanwhile the others stage V.
        if (tid < BQ) {
            float previous = rowMax[tid], top = previous;
            for (uint j = 0u; j < BKV; j++) top = max(top, scores[tid * BKV + j]);
            if (top == NEG_INF) {
                for (uint j = 0u; j < BKV; j++) scores[tid * BKV + j] = 0.0;
                rowRescale[tid] = 1.0;
            } else {
                float sum = 0.0;
                for (uint j = 0u; j < BKV; j++) {
                    float s = scores[tid * BKV + j];
                    float e = s == NEG_INF ? 0.0 : exp(s - top);
                    scores[tid * BKV + j] = e;
                    sum += e;
                }
                float rescale = previous == NEG_INF ? 0.0 : exp(previous - top);
                rowSum[tid] = rowSum[tid] * rescale + sum;
                rowMax[tid] = top;
                rowRescale[tid] = rescale;
            }
        }
        for (uint e = tid; e < BKV * D; e += THREADS) {
            uint j = e / D, d = e % D;
            kvTile[j * KV_STRIDE + d] = k0 + j < p.keys ? ACT_LOAD(V, vStart + (k0 + j) * p.width + d, isHalfInput(p.flags, 2u)) : 0.0;
        }
        barrier();
        for (uint a = 0u; a < ITEMS; a++) {
            uint e = tid + a * THREADS;
            if (e >= BQ / RB * D) break;
            uint r0 = e / D * RB, d = e % D;
            float sum[RB];
            for (uint i = 0u; i < RB; i++) sum[i] = acc[a * RB + i] * rowRescale[r0 + i];
            for (uint j = 0u; j < BKV; j++) {
                float v = kvTile[j * KV_STRIDE + d];
                for (uint i = 0u; i < RB; i++) sum[i] = fma(scores[(r0 + i) * BKV + j], v, sum[i]);
            }
            for (uint i = 0u; i < RB; i++) acc[a * RB + i] = sum[i];
        }
    }
    barrier();
    for (uint a = 0u; a < ITEMS; a++) {
        uint e = tid + a * THREADS;
        if (e >= BQ / RB * D) break;
        uint r0 = e / D * RB, d = e % D;
        for (uint i = 0u; i < RB; i++) {
            uint r = r0 + i;
            if (q0 + r >= p.queries) break;
            float total = rowSum[r];
            ACT_STORE(Out, p.outBase + batch * p.outBatchStride + (q0 + r) * p.width + head * D + d,
                      total > 0.0 ? acc[a * RB + i] / total : 0.0);
        }
    }
}
