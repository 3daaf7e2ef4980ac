// The tiled GEMM core shared by linear (matmul.glsl) and conv3d (conv3d.glsl):
//     C[i][j] = Σ_k L(i, k) · R(j, k),   i < rowsL, j < rowsR, k < depth.
// A workgroup computes a BM × BN tile of C; each k-step stages a BM × BK tile of L and a BN × BK tile
// of R in shared memory (the includer's loadL / loadR do the indexing, dequantization or im2col on
// the way in), and each invocation accumulates a TM × TN = 8 × 8 register tile in f32 (16 shared
// loads per 64 FMAs). Tile rows in shared memory are padded by one float, so the staging stores
// (consecutive k from consecutive invocations) fall in different banks. storeC gets the sum.
//
// Specialization constants: 0 = BM, 1 = BN, 2 = BK; the workgroup has (BM / TM) · (BN / TN)
// invocations (constant 3). Grid: x over tiles of j, y over tiles of i.
#define TM 8
#define TN 8
layout(local_size_x_id = 3) in;
layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint GEMM_THREADS = 256;

shared float tileL[BK * (BM + 1)];
shared float tileR[BK * (BN + 1)];

void gemm(uint rowsL, uint rowsR, uint depth) {
    const uint threadsJ = BN / TN;
    uint tid = gl_LocalInvocationID.x;
    uint tj = tid % threadsJ, ti = tid / threadsJ;
    uint i0 = gl_WorkGroupID.y * BM, j0 = gl_WorkGroupID.x * BN;
    float acc[TM * TN];
    for (uint a = 0u; a < TM * TN; a++) acc[a] = 0.0;

    for (uint k0 = 0u; k0 < depth; k0 += BK) {
        // Consecutive invocations load consecutive k of one row: contiguous reads of row-major data.
        for (uint e = tid; e < BM * BK; e += GEMM_THREADS) {
            uint r = e / BK, kk = e % BK;
            uint i = i0 + r, k = k0 + kk;
            tileL[kk * (BM + 1u) + r] = (i < rowsL && k < depth) ? loadL(i, k) : 0.0;
        }
        for (uint e = tid; e < BN * BK; e += GEMM_THREADS) {
            uint r = e / BK, kk = e % BK;
            uint j = j0 + r, k = k0 + kk;
            tileR[kk * (BN + 1u) + r] = (j < rowsR && k < depth) ? loadR(j, k) : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float l[TM], r[TN];
            for (uint m = 0u; m < TM; m++) l[m] = tileL[kk * (BM + 1u) + ti + m * (BM / TM)];
            for (uint n = 0u; n < TN; n++) r[n] = tileR[kk * (BN + 1u) + tj + n * (BN / TN)];
            for (uint m = 0u; m < TM; m++)
                for (uint n = 0u; n < TN; n++) acc[m * TN + n] = fma(l[m], r[n], acc[m * TN + n]);
        }
        barrier();
    }
    for (uint m = 0u; m < TM; m++) {
        uint i = i0 + ti + m * (BM / TM);
        if (i >= rowsL) continue;
        for (uint n = 0u; n < TN; n++) {
            uint j = j0 + tj + n * (BN / TN);
            if (j < rowsR) storeC(i, j, acc[m * TN + n]);
        }
    }
}
