#ifndef VACEKIT_VMATH_H
#define VACEKIT_VMATH_H
// exp(x) in f32 for the activations and the BLAS path's softmax, and 2^x (x ≤ 0) for the fused
// attention's softmax; each in two forms: 8 lanes of AVX2 and plain C (branch-free, so the compiler
// vectorises the loops that call it with the baseline SIMD).
//
// Cephes expf: n = round(x / ln2), r = x − n·ln2 with ln2 split in two (C1 exact in 9 bits, so n·C1 is
// exact and r keeps full precision even for |x| ≈ 88), e^r = 1 + r + r²·P(r) with the degree-5 minimax
// P on |r| ≤ ln2/2, then · 2^n. Relative error ≲ 1e-7 over the whole normal range (8e-8 measured on
// 400k inputs, VectorMathTests).
// Edges: x < ln(FLT_MIN) → +0 (flushing the denormal range, which costs microcode assists, to 0 is an
// absolute error < 1.2e-38, and makes exp(−inf) = 0); x > ln(FLT_MAX) saturates at ≈ FLT_MAX (never
// inf: v / (1 + e) stays a number); NaN → NaN. 2^n goes in as 2^(n − ⌊n/2⌋) · 2^⌊n/2⌋ so that n = 128
// (x just below ln(FLT_MAX)) and n = −126 both stay normal.
#include <stdint.h>
#include <string.h>

#define VK_EXP_LO (-87.33654022f)  // the first float ≥ ln(FLT_MIN) = −87.336544750…
#define VK_EXP_HI (88.72283173f)   // the last float ≤ ln(FLT_MAX) = 88.722839052…
#define VK_LOG2E 1.44269504088896341f
#define VK_EXP_C1 0.693359375f
#define VK_EXP_C2 (-2.12194440e-4f)
#define VK_EXP_P0 1.9875691500e-4f
#define VK_EXP_P1 1.3981999507e-3f
#define VK_EXP_P2 8.3334519073e-3f
#define VK_EXP_P3 4.1665795894e-2f
#define VK_EXP_P4 1.6666665459e-1f
#define VK_EXP_P5 5.0000001201e-1f
// 2^f on [−½, ½] (minimax relative, degree 6, constant term 1): the softmax's exp2.
#define VK_EXP2_P1 6.931471825e-01f
#define VK_EXP2_P2 2.402264774e-01f
#define VK_EXP2_P3 5.550332367e-02f
#define VK_EXP2_P4 9.618437849e-03f
#define VK_EXP2_P5 1.339887502e-03f
#define VK_EXP2_P6 1.535335032e-04f

static inline float vk_bits_to_f32(int32_t bits) { float f; memcpy(&f, &bits, 4); return f; }

/// Portable exp (see above). No branches: the ternaries become selects, the rounding is the
/// 1.5·2^23 trick (exact for |v| < 2^22 in round-to-nearest), so loops over it vectorise.
static inline float vk_exp_scalar(float x) {
    const int nan = x != x;
    float c = x < VK_EXP_LO ? VK_EXP_LO : x;
    c = c > VK_EXP_HI ? VK_EXP_HI : c;
    c = nan ? 0.0f : c;  // keeps the float → int conversion below defined
    const float n = (c * VK_LOG2E + 12582912.0f) - 12582912.0f;
    float r = c - n * VK_EXP_C1;
    r = r - n * VK_EXP_C2;
    float p = VK_EXP_P0;
    p = p * r + VK_EXP_P1;
    p = p * r + VK_EXP_P2;
    p = p * r + VK_EXP_P3;
    p = p * r + VK_EXP_P4;
    p = p * r + VK_EXP_P5;
    p = p * (r * r) + r + 1.0f;
    const int32_t ni = (int32_t)n, half = ni >> 1;
    const float y = p * vk_bits_to_f32((half + 127) << 23) * vk_bits_to_f32((ni - half + 127) << 23);
    return nan ? x : (x < VK_EXP_LO ? 0.0f : y);
}

/// Portable twin of vk_exp2_nonpositive_avx2 (below): 2^x for x ≤ 0, 0 below −126.
static inline float vk_exp2_nonpositive_scalar(float x) {
    const int nan = x != x;
    float c = x < -126.0f ? -126.0f : x;
    c = nan ? 0.0f : c;
    const float n = (c + 12582912.0f) - 12582912.0f, f = c - n;
    float p = VK_EXP2_P6;
    p = p * f + VK_EXP2_P5;
    p = p * f + VK_EXP2_P4;
    p = p * f + VK_EXP2_P3;
    p = p * f + VK_EXP2_P2;
    p = p * f + VK_EXP2_P1;
    p = p * f + 1.0f;
    const float y = p * vk_bits_to_f32(((int32_t)n + 127) << 23);
    return nan ? x : (x < -126.0f ? 0.0f : y);
}

#if defined(__x86_64__)
#include <immintrin.h>
#define VK_AVX2 __attribute__((target("avx2,fma,f16c")))

/// exp of 8 lanes (see above).
VK_AVX2 static inline __m256 vk_exp_avx2(__m256 x) {
    const __m256 lo = _mm256_set1_ps(VK_EXP_LO);
    const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);  // false for NaN
    // min/max return their second operand when either is NaN: x second, so NaN flows through.
    const __m256 c = _mm256_max_ps(lo, _mm256_min_ps(_mm256_set1_ps(VK_EXP_HI), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(c, _mm256_set1_ps(VK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(VK_EXP_C1), c);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(VK_EXP_C2), r);
    __m256 p = _mm256_set1_ps(VK_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VK_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VK_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VK_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VK_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VK_EXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(ni, 1), bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(_mm256_mul_ps(p, s1), s2));
}

/// 2^x for x ≤ 0, the softmax's exp (its scores come pre-multiplied by log2(e)): n = round(x) by the
/// 1.5·2^23 trick (whose low mantissa bits then are n itself: 2^n is a shift away), f = x − n exact,
/// 2^f on [−½, ½] a degree-6 minimax polynomial (2e-9; ≲ 1e-7 relative in f32), x < −126 → 0.
/// About half the work of vk_exp_avx2: no Cody-Waite split, no overflow side, no float → int convert.
VK_AVX2 static inline __m256 vk_exp2_nonpositive_avx2(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-126.0f), magic = _mm256_set1_ps(12582912.0f);
    const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(lo, x);
    const __m256 t = _mm256_add_ps(x, magic), f = _mm256_sub_ps(x, _mm256_sub_ps(t, magic));
    __m256 p = _mm256_set1_ps(VK_EXP2_P6);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(VK_EXP2_P5));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(VK_EXP2_P4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(VK_EXP2_P3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(VK_EXP2_P2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(VK_EXP2_P1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    // (bits of t) << 23 keeps n << 23 (the rest shifts out); + 127 << 23 makes it the float 2^n.
    const __m256i pow2n = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23), _mm256_set1_epi32(127 << 23));
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(pow2n)));
}

/// vk_exp2_nonpositive_avx2 on 16 lanes (the bf16 attention's softmax).
#define VK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
VK_AVX512 static inline __m512 vk_exp2_nonpositive_avx512(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-126.0f), magic = _mm512_set1_ps(12582912.0f);
    const __mmask16 underflow = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_max_ps(lo, x);
    const __m512 t = _mm512_add_ps(x, magic), f = _mm512_sub_ps(x, _mm512_sub_ps(t, magic));
    __m512 p = _mm512_set1_ps(VK_EXP2_P6);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(VK_EXP2_P5));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(VK_EXP2_P4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(VK_EXP2_P3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(VK_EXP2_P2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(VK_EXP2_P1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    const __m512i pow2n = _mm512_add_epi32(_mm512_slli_epi32(_mm512_castps_si512(t), 23), _mm512_set1_epi32(127 << 23));
    return _mm512_maskz_mul_ps((__mmask16)~underflow, p, _mm512_castsi512_ps(pow2n));
}

/// Lane mask of the first `count` (0…8) lanes, for the tails of rows.
VK_AVX2 static inline __m256i vk_lanes_avx2(int count) {
    static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(table + 8 - count));
}

/// Horizontal sum and max of 8 lanes.
VK_AVX2 static inline float vk_hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
VK_AVX2 static inline float vk_hmax_avx2(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif
#endif
