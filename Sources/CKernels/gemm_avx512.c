// AVX-512 microkernels, tile 8×32 (16 zmm accumulators): vpdpbusd for W8A8 (VNNI) and vdpbf16ps for
// W8A16 and bf16 weights (AVX512_BF16). Both sum a group in registers, then fold it into an f32 tile
// with the group's scales; the f32 tile lives on the stack (L1) since 16 + 16 zmm would not fit.
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
