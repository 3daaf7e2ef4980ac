// Rotary embedding on adjacent pairs (Backend.rotary): one invocation per pair of x [rows, C];
// token n = (firstRow + row) mod N, angle (n, pair mod P) from the [N, P] cos/sin tables. f32 math.
#include "act.glsl"

layout(local_size_x = 256) in;

ACT_INPUT(0, X)
ACT_INPUT(1, Cos)
ACT_INPUT(2, Sin)
ACT_OUTPUT(3, Out)

layout(push_constant) uniform Params {
    uint pairs;          // pairs in this dispatch
    uint width, tokens, tablePairs, firstRow;
    uint xBase, outBase, cosBase, sinBase;
    uint halfMask;       // x, cos, sin
} p;

void main() {
    uint g = linearInvocation(256u);
    if (g >= p.pairs) return;
    uint pairsPerRow = p.width / 2u;
    uint row = g / pairsPerRow, pair = g % pairsPerRow;
    uint angle = (p.firstRow + row) % p.tokens * p.tablePairs + pair % p.tablePairs;
    float c = ACT_LOAD(Cos, p.cosBase + angle, isHalfInput(p.halfMask, 1u));
    float s = ACT_LOAD(Sin, p.sinBase + angle, isHalfInput(p.halfMask, 2u));
    uint index = row * p.width + 2u * pair;
    bool xHalf = isHalfInput(p.halfMask, 0u);
    float a = ACT_LOAD(X, p.xBase + index, xHalf), b = ACT_LOAD(X, p.xBase + index + 1u, xHalf);
    ACT_STORE(Out, p.outBase + index, a * c - b * s);
    ACT_STORE(Out, p.outBase + index + 1u, a * s + b * c);
}
