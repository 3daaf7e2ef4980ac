// Normalisations with f32 statistics (Backend.layerNorm, rmsNorm, channelNorm).
//
// MODE 0 (segments): one workgroup per contiguous segment of `width` elements — a row of the last
//   dim (layerNorm, rmsNorm) or one group of channels of one batch item (groupNorm: width =
//   channels-per-group · spatial). Mean and variance by two passes over the segment, each reduced
//   across the workgroup in shared memory. The affine index of element i of segment s is
//   (s mod groups) · perGroup + i / spatial (rows: groups 1, spatial 1).
// MODE 1 (channel RMS, Wan's RMS_norm and LTX's pixel norm): one invocation per position of one
//   batch item, looping over the channels (stride `spatial`): neighbouring invocations read
//   neighbouring positions.
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
    uint groups, perGroup, spatial;
    uint segmentBase;  // index of the first segment (for its group)
    uint xBase, outBase, weightBase, biasBase;
    uint flags;        // bits 0–2: x / weight / bias are f16; bit 3: weight; bit 4: bias; bit 5: no centering (RMS); bit 6: Wan RMS factor
    float eps;
} p;

shared float partial[THREADS];

float workgroupSum(float value) {
    uint tid = gl_LocalInvocationID.x;
    partial[tid] = value;
    barrier();
    for (uint s = THREADS / 2u; s > 0u; s >>= 1) {
        if (tid < s) partial[tid] += partial[tid + s];
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}

float affine(float v, uint c) {
    if ((p.flags & 8u) != 0u) v *= ACT_LOAD(Weight, p.weightBase + c, isHalfInput(p.flags, 1u));
    if ((p.flags & 16u) != 0u) v += ACT_LOAD(Bias, p.biasBase + c, isHalfInput(p.flags, 2u));
    return v;
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
        mean = workgroupSum(sum) / float(p.width);
    }
    float square = 0.0;
    for (uint i = tid; i < p.width; i += THREADS) {
        float d = ACT_LOAD(X, start + i, xHalf) - mean;
        square += d * d;
    }
    float inverse = 1.0 / sqrt(workgroupSum(square) / float(p.width) + p.eps);
    uint channel0 = (p.segmentBase + segment) % p.groups * p.perGroup;
    uint outStart = p.outBase + segment * p.width;
    for (uint i = tid; i < p.width; i += THREADS) {
        float v = (ACT_LOAD(X, start + i, xHalf) - mean) * inverse;
        ACT_STORE(Out, outStart + i, affine(v, channel0 + i / p.spatial));
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
        ACT_STORE(Out, p.outBase + index, affine(ACT_LOAD(X, p.xBase + index, xHalf) * factor, c));
    }
}

void main() {
    if (MODE == 0u) segmentNorm(); else channelRMS();
}
