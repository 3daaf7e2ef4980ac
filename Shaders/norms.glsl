// Normalisations with f32 statistics (Backend.layerNorm, modulatedLayerNorm, rmsNorm, channelNorm).
//
// MODE 0 (segments): one workgroup per contiguous segment of `width` elements — a row of the last
//   dim (layerNorm, modulatedLayerNorm, rmsNorm) or one group of channels of one batch item
//   (groupNorm: width = channels-per-group · spatial). Mean and variance by two passes over the
//   segment, each reduced across the workgroup (workgroupSum), then one pass writes the result.
//   Affine operand k (weight or bias; scale or shift when modulating) is read for element i of
//   segment g (counted from the first segment of the op) at
//       base_k + ((g / div_k) mod count_k) · rowStride_k + (i / spatial) · step_k,
//   which covers one [C] vector for every row (count 1), groupNorm's [C] split into groups (count =
//   groups, rowStride = channels per group) and adaLN modulation rows shared by runs of rows
//   ([B, 1, C] against [B, L, C]: div = L, count = B, rowStride = C), step 0 being a value
//   broadcast along the row.
// MODE 1 (channel RMS, Wan's RMS_norm and LTX's pixel norm): one invocation per position of one
//   batch item, looping over the channels (stride `spatial`): neighbouring invocations read
//   neighbouring positions. No reduction across invocations.
//
// With SUBGROUP_REDUCTIONS (norms_subgroup_*.comp, for devices with subgroup arithmetic in compute
// shaders) workgroupSum adds within each subgroup in registers and only the per-subgroup sums go
// through shared memory: two barriers per sum instead of log2(THREADS) + 1.
#ifdef SUBGROUP_REDUCTIONS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "act.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint THREADS = 256;  // a power of two
layout(constant_id = 1) const uint MODE = 0;

ACT_INPUT(0, X)
ACT_INPUT(1, Weight)
ACT_INPUT(2, Bias)
ACT_OUTPUT(3, Out)

layout(push_constant) uniform Params {
    uint count;        // segments (MODE 0) or positions (MODE 1) in this dispatch
    uint width;        // segment length (MODE 0) or channels (MODE 1)
    uint spatial;      // elements per affine channel (MODE 0; 1 for rows), positions per channel (MODE 1)
    uint segmentBase;  // index of the first segment of this dispatch within the op
    uint xBase, outBase;
    uint weightBase, weightDiv, weightCount, weightRowStride;
    uint biasBase, biasDiv, biasCount, biasRowStride;
    uint flags;        // bits 0–2: x / weight / bias are f16; bit 3: weight; bit 4: bias; bit 5: no centering
                       // (RMS); bit 6: Wan RMS factor; bit 7: modulate (v · (1 + weight) + bias); bits 8, 9:
                       // weight / bias broadcast along the row (step 0)
    float eps;
} p;

// One array per reduction of a segment (sum, then sum of squares): a reduction never writes the slots
// the previous one is still being read from, so no barrier is needed after reading a total.
shared float partial[2][THREADS];

// The sum of `value` over the workgroup, the same in every invocation. Called in uniform control flow.
float workgroupSum(float value, uint slot) {
#ifdef SUBGROUP_REDUCTIONS
    // gl_NumSubgroups partial sums (THREADS / gl_SubgroupSize, rounded up; 2 … 32 of them), which
    // every subgroup then adds up itself, lane-strided: no second barrier round, and the code holds
    // for any subgroup size (a lane may gather several sums, or none).
    float own = subgroupAdd(value);
    if (subgroupElect()) partial[slot][gl_SubgroupID] = own;
    barrier();
    float sum = 0.0;
    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) sum += partial[slot][i];
    return subgroupAdd(sum);
#else
    uint tid = gl_LocalInvocationID.x;
    partial[slot][tid] = value;
    barrier();
    for (uint s = THREADS / 2u; s > 0u; s >>= 1) {
        if (tid < s) partial[slot][tid] += partial[slot][tid + s];
        barrier();
    }
    return partial[slot][0];
#endif
}

float affine(float v, uint weightIndex, uint biasIndex) {
    bool hasWeight = (p.flags & 8u) != 0u, hasBias = (p.flags & 16u) != 0u;
    float w = hasWeight ? ACT_LOAD(Weight, weightIndex, isHalfInput(p.flags, 1u)) : 1.0;
    float b = hasBias ? ACT_LOAD(Bias, biasIndex, isHalfInput(p.flags, 2u)) : 0.0;
    return (p.flags & 128u) != 0u ? v * (1.0 + w) + b : v * w + b;
}

void segmentNorm() {
    uint segment = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (segment >= p.count) return;  // uniform across the workgroup
    uint tid = gl_LocalInvocationID.x;
    bool xHalf = isHalfInput(p.flags, 0u);
    uint start = p.xBase + segment * p.width;
    float mean = 0.0;
    if ((p.flags & 32u) == 0u) {
        float sum = 0.0;
        for (uint i = tid; i < p.width; i += THREADS) sum += ACT_LOAD(X, start + i, xHalf);
        mean = workgroupSum(sum, 0u) / float(p.width);
    }
    float square = 0.0;
    for (uint i = tid; i < p.width; i += THREADS) {
        float d = ACT_LOAD(X, start + i, xHalf) - mean;
        square += d * d;
    }
    float inverse = 1.0 / sqrt(workgroupSum(square, 1u) / float(p.width) + p.eps);
    uint g = p.segmentBase + segment;
    uint weightRow = p.weightBase + (g / p.weightDiv) % p.weightCount * p.weightRowStride;
    uint biasRow = p.biasBase + (g / p.biasDiv) % p.biasCount * p.biasRowStride;
    uint weightStep = (p.flags & 256u) != 0u ? 0u : 1u, biasStep = (p.flags & 512u) != 0u ? 0u : 1u;
    uint outStart = p.outBase + segment * p.width;
    for (uint i = tid; i < p.width; i += THREADS) {
        float v = (ACT_LOAD(X, start + i, xHalf) - mean) * inverse;
        uint c = i / p.spatial;
        ACT_STORE(Out, outStart + i, affine(v, weightRow + c * weightStep, biasRow + c * biasStep));
    }
}

void channelRMS() {
    uint position = linearInvocation(THREADS);
    if (position >= p.count) return;
    bool xHalf = isHalfInput(p.flags, 0u);
    float square = 0.0;
    for (uint c = 0u; c < p.width; c++) {
        float v = ACT_LOAD(X, p.xBase + c * p.spatial + position, xHalf);
        square += v * v;
    }
    float factor = (p.flags & 64u) != 0u
        ? sqrt(float(p.width)) / max(sqrt(square), 1e-12)
        : 1.0 / sqrt(square / float(p.width) + p.eps);
    for (uint c = 0u; c < p.width; c++) {
        uint index = c * p.spatial + position;
        ACT_STORE(Out, p.outBase + index, affine(ACT_LOAD(X, p.xBase + index, xHalf) * factor, p.weightBase + c, p.biasBase + c));
    }
}

void main() {
    if (MODE == 0u) segmentNorm(); else channelRMS();
}
