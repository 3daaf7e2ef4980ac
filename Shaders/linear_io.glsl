// The linear contract shared by matmul.glsl (scalar tiles) and matmul_coopmat.glsl (matrix cores):
// bindings, push constants and the operand access the Swift side (VulkanBackend+Linear.swift) fills.
// x is an activation [M, K]; W a stored weight [N, K] of any weight type (weights.glsl); a dispatch
// covers rows 0..<M of its x binding and weight rows 0..<N of its weight binding, which are columns
// nOffset… of the output rows (`ldOut` apart).
#include "act.glsl"

ACT_INPUT(0, X)
#define WEIGHT_BINDING 1
#define SCALE_BINDING 2
ACT_INPUT(3, Bias)
ACT_OUTPUT(4, Out)

layout(push_constant) uniform Params {
    uint M, N, K;
    uint xBase;
    uint weightBase, scaleBase, group, groupsPerRow;
    uint biasBase, outBase, ldOut;
    uint flags;  // bit 0: x is f16; bit 1: bias is f16; bit 2: add bias
} p;

#include "weights.glsl"

float loadX(uint m, uint k) { return ACT_LOAD(X, p.xBase + m * p.K + k, isHalfInput(p.flags, 0u)); }

float loadW(uint n, uint k) {
    return weightAt(WeightView(p.weightBase, p.K, p.scaleBase, p.group, p.groupsPerRow), n, k);
}

// The sum of output (m, n), plus the bias when there is one, stored in the activation type.
void storeOut(uint m, uint n, float value) {
    if ((p.flags & 4u) != 0u) value += ACT_LOAD(Bias, p.biasBase + n, isHalfInput(p.flags, 1u));
    ACT_STORE(Out, p.outBase + m * p.ldOut + n, value);
}
