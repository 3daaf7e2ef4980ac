// Elementwise ops with NumPy broadcasting (Backend.binary, modulate, gatedResidual, unary): one
// invocation per output element. The output is contiguous; each input is a strided view over the
// same box of up to 5 dims (stride 0 on broadcast dims), after the host has merged dims that are
// contiguous in every operand. Large tensors are split into boxes by the host. f32 math.
#include "act.glsl"

layout(local_size_x = 256) in;

ACT_INPUT(0, A)
ACT_INPUT(1, B)
ACT_INPUT(2, C)
ACT_OUTPUT(3, Out)

#define MAX_RANK 5
layout(push_constant) uniform Params {
    uint count, outBase, op, rank;
    uint dims[MAX_RANK];             // innermost last
    uint base[3];                    // first element of each input in its binding
    uint strides[3 * MAX_RANK];      // strides[input · MAX_RANK + dim]
    uint halfMask;
    float p0, p1;                    // scale factor; clamp bounds
} p;

// op codes (VulkanBackend+Elementwise.swift)
#define OP_ADD 1u
#define OP_SUB 2u
#define OP_MUL 3u
#define OP_DIV 4u
#define OP_MODULATE 5u
#define OP_GATED_RESIDUAL 6u
#define OP_GELU_TANH 7u
#define OP_GELU 8u
#define OP_SILU 9u
#define OP_SCALE 10u
#define OP_CLAMP 11u

// tanh without overflow for large |v| (the builtin may compute e^v / e^v).
float stableTanh(float v) {
    float t = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - t) / (1.0 + t);
}

// erf to about 1e-7 absolute (W. J. Cody's rational approximations are overkill here; this is the
// Numerical Recipes erfc Chebyshev fit, relative error < 1.2e-7).
float erfApprox(float v) {
    float z = abs(v);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
              + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return v >= 0.0 ? 1.0 - r : r - 1.0;
}

void main() {
    uint i = linearInvocation(256u);
    if (i >= p.count) return;
    uint rest = i;
    uint offset0 = p.base[0], offset1 = p.base[1], offset2 = p.base[2];
    for (int d = int(p.rank) - 1; d >= 0; d--) {
        uint n = p.dims[d];
        uint c = rest % n;
        rest /= n;
        offset0 += c * p.strides[d];
        offset1 += c * p.strides[MAX_RANK + d];
        offset2 += c * p.strides[2 * MAX_RANK + d];
    }
    float a = ACT_LOAD(A, offset0, isHalfInput(p.halfMask, 0u));
    float r;
    if (p.op <= OP_DIV) {
        float b = ACT_LOAD(B, offset1, isHalfInput(p.halfMask, 1u));
        r = p.op == OP_ADD ? a + b : p.op == OP_SUB ? a - b : p.op == OP_MUL ? a * b : a / b;
    } else if (p.op <= OP_GATED_RESIDUAL) {
        float b = ACT_LOAD(B, offset1, isHalfInput(p.halfMask, 1u));
        float c = ACT_LOAD(C, offset2, isHalfInput(p.halfMask, 2u));
        r = p.op == OP_MODULATE ? a * (1.0 + b) + c : a + c * b;
    } else if (p.op == OP_GELU_TANH) {
        r = 0.5 * a * (1.0 + stableTanh(0.7978845608 * (a + 0.044715 * a * a * a)));
    } else if (p.op == OP_GELU) {
        r = 0.5 * a * (1.0 + erfApprox(a * 0.70710678118));
    } else if (p.op == OP_SILU) {
        r = a / (1.0 + exp(-a));
    } else if (p.op == OP_SCALE) {
        r = a * p.p0;
    } else {
        r = min(max(a, p.p0), p.p1);
    }
    ACT_STORE(Out, p.outBase + i, r);
}
