// AVX-512 microkernels, tile 8×32 (16 zmm accumulators): vpdpbusd for W8A8 (VNNI) and vdpbf16ps for
// W8A16 and bf16 weights (AVX512_BF16). Both sum a group in registers, then fold it into an f32 tile
// with the group's scales; the f32 tile lives on the stack (L1) since 16 + 16 zmm would not fit.
// Also the W8A8 packer, whose layout only this kernel reads.
#include "gemm_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16")))
enum { MR = 8, NR = 32 };

/// Writes (or adds) the valid mr × nr part of an 8×32 f32 tile to C.
AVX512 static void store_tile(const vk_tile *t, const float *tile) {
    const __mmask16 m0 = (__mmask16)(t->nr >= 16 ? 0xffff : (1u << t->nr) - 1);
    const __mmask16 m1 = (__mmask16)(t->nr >= 32 ? 0xffff : t->nr <= 16 ? 0 : (1u << (t->nr - 16)) - 1);
    for (int i = 0; i < t->mr; i++) {
        float *c = t->c + (size_t)i * t->ldc;
        __m512 lo = _mm512_load_ps(tile + i * NR), hi = _mm512_load_ps(tile + i * NR + 16);
        if (t->accumulate) {
            lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(m0, c));
            hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(m1, c + 16));
        }
        _mm512_mask_storeu_ps(c, m0, lo);
        _mm512_mask_storeu_ps(c + 16, m1, hi);
    }
}

/// Transposes 16 rows of 16 dwords in place: r[q] becomes dword q of every row (here: one k quad of
/// 16 columns). Pairs of dwords, then of qwords, within 128-bit lanes; then the lanes themselves.
AVX512 static void transpose_16x16_epi32(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    // u[4i + e], lane l: dword 4l + e of rows 4i .. 4i + 3.
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int e = 0; e < 4; e++) {
        const __m512i v0 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0x44), v1 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0xee);
        const __m512i v2 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0x44), v3 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0xee);
        r[e] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        r[4 + e] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
        r[8 + e] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        r[12 + e] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
    }
}

/// s8 [kcp/4][32][4] for vk_kernel_i8_avx512 (NR = 32): k quads of one column in one 32-bit lane, and
/// comp [kcp/group][32] = 128 · Σ w over each group: what the +128 shift of the activations adds.
/// 16 rows × 64 k at a time through a dword transpose; the byte-masked loads zero-pad k ≥ kc and never
/// read past a row. Byte at a time (plain C, 128-byte strided stores) it took ~12% of a W8A8 GEMM at
/// M = 1170: every call packs all of W, and the int8 kernel is fast enough for that to show.
AVX512 void vk_pack_s8_k4_avx512(const vk_weight *w, int n0, int nr, int k0, int kc, int kcp, int group,
                                 int8_t *panel, int32_t *comp) {
    const int8_t *q = (const int8_t *)w->data + (size_t)n0 * w->k + k0;
    for (int kb = 0; kb < kcp; kb += 64) {
        const int valid = kc - kb < 64 ? kc - kb : 64;  // ≥ 1: kb < kcp ≤ kc + 3 and kb % 4 == 0
        const __mmask64 mask = valid == 64 ? ~(__mmask64)0 : ((__mmask64)1 << valid) - 1;
        const int quads = (kcp - kb) / 4 < 16 ? (kcp - kb) / 4 : 16;
        for (int half = 0; half < 2; half++) {
            __m512i r[16];
            for (int j = 0; j < 16; j++) {
                const int column = half * 16 + j;
                r[j] = column < nr ? _mm512_maskz_loadu_epi8(mask, q + (size_t)column * w->k + kb) : _mm512_setzero_si512();
            }
            transpose_16x16_epi32(r);
            for (int i = 0; i < quads; i++) _mm512_store_si512(panel + (size_t)(kb / 4 + i) * NR * 4 + half * 64, r[i]);
        }
    }
    // Σ w per column and group: vpdpbusd with u8 ones sums the 4 s8 of each lane.
    const __m512i ones = _mm512_set1_epi8(1);
    for (int g = 0; g < kcp / group; g++) {
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
        for (int i = g * group / 4; i < (g + 1) * group / 4; i++) {
            s0 = _mm512_dpbusd_epi32(s0, ones, _mm512_load_si512(panel + (size_t)i * NR * 4));
            s1 = _mm512_dpbusd_epi32(s1, ones, _mm512_load_si512(panel + (size_t)i * NR * 4 + 64));
        }
        _mm512_storeu_si512(comp + g * NR, _mm512_slli_epi32(s0, 7));
        _mm512_storeu_si512(comp + g * NR + 16, _mm512_slli_epi32(s1, 7));
    }
}

/// W8A8: u8 activations (q + 128) × s8 weights, 4 k per 32-bit lane, int32 per group; the +128 is
/// taken back with the packed per-group Σ 128·w, then int32 → f32 · scale into the f32 tile.
AVX512 void vk_kernel_i8_avx512(const vk_tile *t) {
    const uint8_t *a[MR];
    for (int i = 0; i < MR; i++) a[i] = t->a + (size_t)(i < t->mr ? i : t->mr - 1) * t->a_stride;
    const __m512i *p = (const __m512i *)t->panel;
    float tile[MR * NR] __attribute__((aligned(64)));
    for (int g = 0; g < t->kc / t->group; g++) {
        __m512i acc[MR][2];
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
        for (int k = g * t->group; k < (g + 1) * t->group; k += 4, p += 2) {
            const __m512i w0 = _mm512_load_si512(p), w1 = _mm512_load_si512(p + 1);
            for (int i = 0; i < MR; i++) {
                const __m512i x = _mm512_set1_epi32(vk_load_i32(a[i] + k));
                acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], x, w0);
                acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], x, w1);
            }
        }
        const __m512 s0 = _mm512_loadu_ps(t->scales + g * NR), s1 = _mm512_loadu_ps(t->scales + g * NR + 16);
        const __m512i c0 = _mm512_loadu_si512(t->comp + g * NR), c1 = _mm512_loadu_si512(t->comp + g * NR + 16);
        for (int i = 0; i < MR; i++) {
            const __m512 v0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][0], c0));
            const __m512 v1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][1], c1));
            float *row = tile + i * NR;
            if (g == 0) {
                _mm512_store_ps(row, _mm512_mul_ps(v0, s0));
                _mm512_store_ps(row + 16, _mm512_mul_ps(v1, s1));
            } else {
                _mm512_store_ps(row, _mm512_fmadd_ps(v0, s0, _mm512_load_ps(row)));
                _mm512_store_ps(row + 16, _mm512_fmadd_ps(v1, s1, _mm512_load_ps(row + 16)));
            }
        }
    }
    store_tile(t, tile);
}

/// bf16: activation pairs (broadcast) × weight pairs → f32, per group; scales NULL means bf16 weights.
AVX512 void vk_kernel_bf16_avx512(const vk_tile *t) {
    const uint8_t *a[MR];
    for (int i = 0; i < MR; i++) a[i] = t->a + (size_t)(i < t->mr ? i : t->mr - 1) * t->a_stride;
    const __m512i *p = (const __m512i *)t->panel;
    float tile[MR * NR] __attribute__((aligned(64)));
    for (int g = 0; g < t->kc / t->group; g++) {
        __m512 acc[MR][2];
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        for (int k = g * t->group; k < (g + 1) * t->group; k += 2, p += 2) {
            const __m512bh w0 = (__m512bh)_mm512_load_si512(p), w1 = (__m512bh)_mm512_load_si512(p + 1);
            for (int i = 0; i < MR; i++) {
                const __m512bh x = (__m512bh)_mm512_set1_epi32(vk_load_i32(a[i] + 2 * k));
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], x, w0);
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], x, w1);
            }
        }
        const __m512 s0 = t->scales ? _mm512_loadu_ps(t->scales + g * NR) : _mm512_set1_ps(1);
        const __m512 s1 = t->scales ? _mm512_loadu_ps(t->scales + g * NR + 16) : _mm512_set1_ps(1);
        for (int i = 0; i < MR; i++) {
            float *row = tile + i * NR;
            if (g == 0) {
                _mm512_store_ps(row, _mm512_mul_ps(acc[i][0], s0));
                _mm512_store_ps(row + 16, _mm512_mul_ps(acc[i][1], s1));
            } else {
                _mm512_store_ps(row, _mm512_fmadd_ps(acc[i][0], s0, _mm512_load_ps(row)));
                _mm512_store_ps(row + 16, _mm512_fmadd_ps(acc[i][1], s1, _mm512_load_ps(row + 16)));
            }
        }
    }
    store_tile(t, tile);
}
#endif
