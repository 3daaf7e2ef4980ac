// conv3d as an implicit GEMM (Backend.conv3d): for one batch item,
//     out[o][pos] = Σ_k W[o][k] · col[k][pos]  (+ bias[o]),   k = (ci, dt, dy, dx), pos = (to, yo, xo),
// where col is the im2col matrix, never materialised: loadR computes each sample's source
// coordinates (stride, dilation, spatial zero padding, temporal zero or replicate padding) while
// the tile is staged into shared memory. The weight [O, C·kT·kH·kW] is any stored weight type.
//
// The host may split the input channels into chunks (to keep each binding within the device's
// range): a dispatch then covers channels cBase… of the weight rows and, with `accumulate`, adds
// to what earlier chunks wrote.
#include "act.glsl"

ACT_INPUT(0, X)
#define WEIGHT_BINDING 1
#define SCALE_BINDING 2
ACT_INPUT(3, Bias)
ACT_OUTPUT(4, Out)

layout(push_constant) uniform Params {
    uint O, P, depth;          // output channels, output positions (To·Ho·Wo), channels-in-chunk · kernel volume
    uint kernelVolume, kernelPlane, kW;   // kT·kH·kW, kH·kW, kW
    uint T, H, W, Ho, Wo;      // input frames/rows/columns; output rows/columns
    uint strideT, strideH, strideW, dilationT, dilationH, dilationW;
    uint padT, padH, padW;     // zeros (or replicated frames, flag bit 4) before; spatial padding both sides
    uint columnBase, ldWeight; // first weight column of this channel chunk; weight row length
    uint xBase, weightBase, scaleBase, group, groupsPerRow;
    uint biasBase, outBase;
    uint flags;  // bit 0: x is f16; bit 1: bias is f16; bit 2: add bias; bit 3: accumulate; bit 4: replicate in time
} p;

#include "weights.glsl"

float loadL(uint o, uint k) {
    return weightAt(WeightView(p.weightBase, p.ldWeight, p.scaleBase, p.group, p.groupsPerRow), o, p.columnBase + k);
}

float loadR(uint pos, uint k) {
    uint ci = k / p.kernelVolume, r = k % p.kernelVolume;
    uint dt = r / p.kernelPlane, dy = r % p.kernelPlane / p.kW, dx = r % p.kW;
    uint xo = pos % p.Wo, yo = pos / p.Wo % p.Ho, to = pos / (p.Wo * p.Ho);
    int ti = int(to * p.strideT + dt * p.dilationT) - int(p.padT);
    int yi = int(yo * p.strideH + dy * p.dilationH) - int(p.padH);
    int xi = int(xo * p.strideW + dx * p.dilationW) - int(p.padW);
    if ((p.flags & 16u) != 0u) ti = clamp(ti, 0, int(p.T) - 1);
    if (ti < 0 || ti >= int(p.T) || yi < 0 || yi >= int(p.H) || xi < 0 || xi >= int(p.W)) return 0.0;
    uint index = ((ci * p.T + uint(ti)) * p.H + uint(yi)) * p.W + uint(xi);
    return ACT_LOAD(X, p.xBase + index, isHalfInput(p.flags, 0u));
}

void storeC(uint o, uint pos, float value) {
    uint index = p.outBase + o * p.P + pos;
    if ((p.flags & 4u) != 0u) value += ACT_LOAD(Bias, p.biasBase + o, isHalfInput(p.flags, 1u));
    if ((p.flags & 8u) != 0u) value += ACT_OUTPUT_LOAD(Out, index);
    ACT_STORE(Out, index, value);
}

#include "gemm.glsl"

void main() { gemm(p.O, p.P, p.depth); }
