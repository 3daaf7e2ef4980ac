// Layout kernels (Backend.permute, slice, concat, pad, interpolate, mean), one invocation per output
// element.
//
// MODE 0 (strided copy): out[outBase + Σ i_d·outStrides_d] = in[inBase + Σ i_d·inStrides_d] over a box
//   of up to 6 dims. permute and slice are one copy; concat one per input; pad one per region
//   (replicate = a copy with input stride 0 along the axis; zeros = flag bit 1, nothing read).
// MODE 1 (resize one axis, align_corners false): x [outer, length, inner] → [outer, target, inner];
//   nearest: source floor(i · length / target); linear: (i + 0.5) · length / target − 0.5, clamped.
// MODE 2 (mean over one axis): x [outer, length, inner] → [outer, inner], f32 accumulation.
#include "act.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint MODE = 0;

ACT_INPUT(0, In)
ACT_OUTPUT(1, Out)

#define MAX_RANK 6
layout(push_constant) uniform Params {
    uint count, rank, inBase, outBase;
    uint flags;                   // bit 0: input is f16; bit 1: fill zeros (copy); bit 2: linear (resize)
    uint dims[MAX_RANK];          // copy: the box, innermost last; resize: length, target, inner; mean: length, inner
    uint inStrides[MAX_RANK];
    uint outStrides[MAX_RANK];
} p;

void copyBox(uint i) {
    uint rest = i, source = p.inBase, target = p.outBase;
    for (int d = int(p.rank) - 1; d >= 0; d--) {
        uint c = rest % p.dims[d];
        rest /= p.dims[d];
        source += c * p.inStrides[d];
        target += c * p.outStrides[d];
    }
    float v = (p.flags & 2u) != 0u ? 0.0 : ACT_LOAD(In, source, isHalfInput(p.flags, 0u));
    ACT_STORE(Out, target, v);
}

void resizeAxis(uint i) {
    uint length = p.dims[0], size = p.dims[1], inner = p.dims[2];
    uint j = i % inner, o = i / inner / size, t = i / inner % size;
    uint rowBase = p.inBase + o * length * inner + j;
    bool halfIn = isHalfInput(p.flags, 0u);
    float v;
    if ((p.flags & 4u) == 0u) {
        uint s = min(t * length / size, length - 1u);
        v = ACT_LOAD(In, rowBase + s * inner, halfIn);
    } else {
        float position = max((float(t) + 0.5) * float(length) / float(size) - 0.5, 0.0);
        uint lo = min(uint(position), length - 1u), hi = min(lo + 1u, length - 1u);
        float f = position - float(lo);
        v = ACT_LOAD(In, rowBase + lo * inner, halfIn) * (1.0 - f) + ACT_LOAD(In, rowBase + hi * inner, halfIn) * f;
    }
    ACT_STORE(Out, p.outBase + i, v);
}

void meanAxis(uint i) {
    uint length = p.dims[0], inner = p.dims[1];
    uint j = i % inner, o = i / inner;
    uint base = p.inBase + o * length * inner + j;
    bool halfIn = isHalfInput(p.flags, 0u);
    float sum = 0.0;
    for (uint k = 0u; k < length; k++) sum += ACT_LOAD(In, base + k * inner, halfIn);
    ACT_STORE(Out, p.outBase + i, sum / float(length));
}

void main() {
    uint i = linearInvocation(256u);
    if (i >= p.count) return;
    if (MODE == 0u) copyBox(i);
    else if (MODE == 1u) resizeAxis(i);
    else meanAxis(i);
}
