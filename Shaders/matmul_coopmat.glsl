// linear on matrix cores: out[m][n] = Σ_k x[m][k] · W[n][k] (+ bias[n]) with VK_NV_cooperative_matrix
// (NVIDIA tensor cores, Turing and later). The same contract as matmul.glsl (linear_io.glsl); only
// the inner product differs: tiles are staged in shared memory as f16 (x converted, W dequantized on
// the way in by the same loaders) and multiplied as 16 × 16 × 16 fragments with f32 accumulation.
//
// A workgroup of four subgroups (a 2 × 2 grid) owns a 64 × 64 output tile; each subgroup owns a
// 32 × 32 quarter as 2 × 2 accumulator fragments. The fragments are written to shared memory at the
// end, and the whole workgroup adds the bias, applies the bounds and stores in the activation type,
// so M, N and K need not be multiples of 16. Used only with f16 activations (x is rounded to f16
// here; with f32 activations the scalar kernel keeps f32 inputs).
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "linear_io.glsl"

#define BM 64u
#define BN 64u
#define BK 32u
#define FRAGMENT 16u
#define THREADS 128u
layout(local_size_x = 128) in;

shared float16_t tileX[BM * BK];  // (m, k) at m · BK + k
shared float16_t tileW[BN * BK];  // (n, k) at n · BK + k: W's rows, i.e. the K × N operand column-major
shared float tileOut[BM * BN];

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint quarterM = (gl_SubgroupID / 2u) * 32u, quarterN = (gl_SubgroupID % 2u) * 32u;
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2][2];
    for (uint i = 0u; i < 2u; i++)
        for (uint j = 0u; j < 2u; j++) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

    for (uint k0 = 0u; k0 < p.K; k0 += BK) {
        for (uint e = tid; e < BM * BK; e += THREADS) {
            uint m = m0 + e / BK, k = k0 + e % BK;
            tileX[e] = float16_t((m < p.M && k < p.K) ? loadX(m, k) : 0.0);
        }
        for (uint e = tid; e < BN * BK; e += THREADS) {
            uint n = n0 + e / BK, k = k0 + e % BK;
            tileW[e] = float16_t((n < p.N && k < p.K) ? loadW(n, k) : 0.0);
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk += FRAGMENT) {
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> x[2], wt[2];
            for (uint i = 0u; i < 2u; i++) coopMatLoadNV(x[i], tileX, (quarterM + i * FRAGMENT) * BK + kk, BK, false);
            for (uint j = 0u; j < 2u; j++) coopMatLoadNV(wt[j], tileW, (quarterN + j * FRAGMENT) * BK + kk, BK, true);
            for (uint i = 0u; i < 2u; i++)
                for (uint j = 0u; j < 2u; j++) acc[i][j] = coopMatMulAddNV(x[i], wt[j], acc[i][j]);
        }
        barrier();
    }
    for (uint i = 0u; i < 2u; i++)
        for (uint j = 0u; j < 2u; j++)
            coopMatStoreNV(acc[i][j], tileOut, (quarterM + i * FRAGMENT) * BN + quarterN + j * FRAGMENT, BN, false);
    barrier();
    for (uint e = tid; e < BM * BN; e += THREADS) {
        uint m = m0 + e / BN, n = n0 + e % BN;
        if (m >= p.M || n >= p.N) continue;
        storeOut(m, n, tileOut[e]);
    }
}
