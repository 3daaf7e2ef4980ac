// AVX2 + FMA microkernels (tile 6×16: 12 ymm accumulators) and activation preparation. The prep
// functions also serve the AVX-512 kernels (every AVX-512 CPU has AVX2; the prep is ~1% of a GEMM).
#include "gemm_internal.h"
#include <math.h>
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
enum { MR = 6, NR = 16, NV = NR / 8 };

/// Writes (or adds) a register tile to C, only the valid mr × nr part.
AVX2 static void store_tile(const vk_tile *t, __m256 acc[MR][NV]) {
    if (t->nr == NR) {
        for (int i = 0; i < t->mr; i++) {
            float *c = t->c + (size_t)i * t->ldc;
            for (int v = 0; v < NV; v++) {
                const __m256 sum = t->accumulate ? _mm256_add_ps(acc[i][v], _mm256_loadu_ps(c + 8 * v)) : acc[i][v];
                _mm256_storeu_ps(c + 8 * v, sum);
            }
        }
        return;
    }
    float tile[MR][NR] __attribute__((aligned(32)));
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) _mm256_store_ps(tile[i] + 8 * v, acc[i][v]);
    for (int i = 0; i < t->mr; i++)
        for (int j = 0; j < t->nr; j++) {
            float *c = t->c + (size_t)i * t->ldc + j;
            *c = t->accumulate ? *c + tile[i][j] : tile[i][j];
        }
}

/// f32: C += x[MR, kc] · P[kc, NR], P already dequantized. Per k: NV loads, MR broadcasts, MR·NV FMA.
AVX2 void vk_kernel_f32_avx2(const vk_tile *t) {
    const float *a[MR];
    for (int i = 0; i < MR; i++) a[i] = (const float *)(t->a + (size_t)(i < t->mr ? i : t->mr - 1) * t->a_stride);
    const float *p = (const float *)t->panel;
    __m256 acc[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
    for (int k = 0; k < t->kc; k++, p += NR) {
        __m256 w[NV];
        for (int v = 0; v < NV; v++) w[v] = _mm256_load_ps(p + 8 * v);
        for (int i = 0; i < MR; i++) {
            const __m256 x = _mm256_broadcast_ss(a[i] + k);
            for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(x, w[v], acc[i][v]);
        }
    }
    store_tile(t, acc);
}

/// W8A8 and W8A16 with vpmaddwd: s16 activation pairs (broadcast) × s16 weight pairs → int32, 16 MACs
/// per instruction. Activations in ±127 (W8A8) or ±32767 (W8A16): with |w| ≤ 127 a pair is ≤ 8.4e6,
/// so ≤ 256 k per int32 sum (t->span) stays below 2^31. Per span: int32 → f32 · its group's scale.
AVX2 void vk_kernel_i8_avx2(const vk_tile *t) {
    const int16_t *a[MR];
    for (int i = 0; i < MR; i++) a[i] = (const int16_t *)(t->a + (size_t)(i < t->mr ? i : t->mr - 1) * t->a_stride);
    const __m256i *p = (const __m256i *)t->panel;
    __m256 tile[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) tile[i][v] = _mm256_setzero_ps();
    const int span = t->span > 0 && t->span < t->group ? t->span : t->group;
    for (int s0 = 0, s1; s0 < t->kc; s0 = s1) {
        const int g = s0 / t->group, group_end = (g + 1) * t->group;
        s1 = s0 + span < group_end ? s0 + span : group_end;
        __m256i acc[MR][NV];
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_si256();
        for (int k = s0; k < s1; k += 2, p += NV) {
            __m256i w[NV];
            for (int v = 0; v < NV; v++) w[v] = _mm256_load_si256(p + v);
            for (int i = 0; i < MR; i++) {
                const __m256i x = _mm256_set1_epi32(vk_load_i32(a[i] + k));
                for (int v = 0; v < NV; v++) acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(x, w[v]));
            }
        }
        for (int v = 0; v < NV; v++) {
            const __m256 s = _mm256_load_ps(t->scales + g * NR + 8 * v);
            for (int i = 0; i < MR; i++) tile[i][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i][v]), s, tile[i][v]);
        }
    }
    store_tile(t, tile);
}

/// max |x| over a row.
AVX2 static float row_amax(const float *x, int k) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= k; i += 16) {
        m0 = _mm256_max_ps(m0, _mm256_and_ps(_mm256_loadu_ps(x + i), magnitude));
        m1 = _mm256_max_ps(m1, _mm256_and_ps(_mm256_loadu_ps(x + i + 8), magnitude));
    }
    float lanes[8] __attribute__((aligned(32)));
    _mm256_store_ps(lanes, _mm256_max_ps(m0, m1));
    float amax = 0;
    for (int j = 0; j < 8; j++) amax = fmaxf(amax, lanes[j]);
    for (; i < k; i++) amax = fmaxf(amax, fabsf(x[i]));
    return amax;
}

/// round_even(x · inverse) clamped to ±levels, 8 at a time (cvtps rounds to nearest even, like rintf).
AVX2 static inline __m256i quantize8(const float *x, __m256 inverse, int levels) {
    const __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), inverse));
    return _mm256_max_epi32(_mm256_min_epi32(q, _mm256_set1_epi32(levels)), _mm256_set1_epi32(-levels));
}

static inline int32_t quantize1(float x, float inverse, int levels) {
    const float q = rintf(x * inverse);
    return (int32_t)(q > (float)levels ? (float)levels : q < -(float)levels ? -(float)levels : q);
}

AVX2 void vk_prep_s16_avx2(const float *x, int k, int stride, int m0, int m1, int levels, int16_t *act, float *scales) {
    for (int m = m0; m < m1; m++) {
        const float *row = x + (size_t)m * k;
        int16_t *out = act + (size_t)m * stride;
        const float amax = row_amax(row, k);
        const float inverse = amax > 0 ? (float)levels / amax : 0.0f;
        scales[m] = amax / (float)levels;
        const __m256 inv = _mm256_set1_ps(inverse);
        int i = 0;
        for (; i + 16 <= k; i += 16) {
            const __m256i packed = _mm256_packs_epi32(quantize8(row + i, inv, levels), quantize8(row + i + 8, inv, levels));
            _mm256_storeu_si256((__m256i *)(out + i), _mm256_permute4x64_epi64(packed, 0xD8));
        }
        for (; i < k; i++) out[i] = (int16_t)quantize1(row[i], inverse, levels);
        for (; i < stride; i++) out[i] = 0;
    }
}

/// u8 = q + 128 (the unsigned operand of vpdpbusd); padding is 128, i.e. q = 0.
AVX2 void vk_prep_u8_avx2(const float *x, int k, int stride, int m0, int m1, uint8_t *act, float *scales) {
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int m = m0; m < m1; m++) {
        const float *row = x + (size_t)m * k;
        uint8_t *out = act + (size_t)m * stride;
        const float amax = row_amax(row, k);
        const float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        scales[m] = amax / 127.0f;
        const __m256 inv = _mm256_set1_ps(inverse);
        int i = 0;
        for (; i + 32 <= k; i += 32) {
            const __m256i lo = _mm256_packs_epi32(quantize8(row + i, inv, 127), quantize8(row + i + 8, inv, 127));
            const __m256i hi = _mm256_packs_epi32(quantize8(row + i + 16, inv, 127), quantize8(row + i + 24, inv, 127));
            const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(lo, hi), order);
            _mm256_storeu_si256((__m256i *)(out + i), _mm256_xor_si256(bytes, _mm256_set1_epi8((char)0x80)));
        }
        for (; i < k; i++) out[i] = (uint8_t)(quantize1(row[i], inverse, 127) + 128);
        for (; i < stride; i++) out[i] = 128;
    }
}

/// bf16, round to nearest even (same as vk_f32_to_bf16 for finite values).
AVX2 void vk_prep_bf16_avx2(const float *x, int k, int stride, int m0, int m1, uint16_t *act) {
    for (int m = m0; m < m1; m++) {
        const float *row = x + (size_t)m * k;
        uint16_t *out = act + (size_t)m * stride;
        int i = 0;
        for (; i + 16 <= k; i += 16) {
            __m256i b[2];
            for (int h = 0; h < 2; h++) {
                const __m256i bits = _mm256_loadu_si256((const __m256i *)(row + i + 8 * h));
                const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
                const __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff)));
                b[h] = _mm256_srli_epi32(rounded, 16);
            }
            _mm256_storeu_si256((__m256i *)(out + i), _mm256_permute4x64_epi64(_mm256_packus_epi32(b[0], b[1]), 0xD8));
        }
        for (; i < k; i++) out[i] = vk_f32_to_bf16(row[i]);
        for (; i < stride; i++) out[i] = 0;
    }
}
#endif
