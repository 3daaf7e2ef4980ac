// LayerNorm (plain, or modulated as in adaLN) and RMSNorm over rows, f32 statistics. Sums are blocked over 32 independent partial sums
// (4 AVX2 registers, or a 32-float array the compiler vectorises), so a row of C values sums with
// chains of C / 32 adds: error ≈ √(C/32)·2⁻²⁴ relative instead of √C. LayerNorm is "corrected
// two-pass": pass 1 gives a mean μ₀, pass 2 sums d = x − μ₀ and d², then μ = μ₀ + Σd / n and
// var = Σd² / n − (Σd / n)², and x is centered as (x − μ₀) − Σd / n (x − μ₀ is exact near μ₀): the mean's
// own f32 rounding never enters, which matters when |mean| ≫ std.
#include "ckernels.h"
#include "vmath.h"
#include <math.h>

enum { LANES = 32 };

static float sum_lanes(const float *acc) {
    float total = 0;
    for (int l = 0; l < LANES; l++) total += acc[l];
    return total;
}

// MARK: portable

static float sum_portable(const float *x, size_t n) {
    float acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += x[j + l];
    for (; j < n; j++) acc[j % LANES] += x[j];
    return sum_lanes(acc);
}

/// Σ(x − c) and Σ(x − c)².
static void centered_sums_portable(const float *x, size_t n, float c, float *s1, float *s2) {
    float a1[LANES] = {0}, a2[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            const float d = x[j + l] - c;
            a1[l] += d;
            a2[l] += d * d;
        }
    for (; j < n; j++) {
        const float d = x[j] - c;
        a1[j % LANES] += d;
        a2[j % LANES] += d * d;
    }
    *s1 = sum_lanes(a1);
    *s2 = sum_lanes(a2);
}

/// y = ((x − c) − c_lo) · inverse, then · weight, + bias where given. The center is the two-float sum
/// c + c_lo (pass-1 mean + correction): x − c is exact for x near c, so the centered value is as exact
/// as with a float64 mean.
static void normalize_portable(const float *x, float *y, size_t n, float c, float c_lo, float inverse, const float *w, const float *b) {
    for (size_t j = 0; j < n; j++) {
        float v = ((x[j] - c) - c_lo) * inverse;
        if (w) v *= w[j];
        if (b) v += b[j];
        y[j] = v;
    }
}

/// The modulated LayerNorm write: y = ((x − c) − c_lo) · inverse · (1 + scale) + shift, scale and shift
/// walked with step 1 or broadcast from their first value (step 0).
static void normalize_modulate_portable(const float *x, float *y, size_t n, float c, float c_lo, float inverse,
                                        const float *scale, size_t ss, const float *shift, size_t ts) {
    for (size_t j = 0; j < n; j++) y[j] = ((x[j] - c) - c_lo) * inverse * (1.0f + scale[j * ss]) + shift[j * ts];
}

// MARK: AVX2

#if defined(__x86_64__)
VK_AVX2 static float sum_avx2(const float *x, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + j + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + j + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + j + 24));
    }
    for (; j < n; j += 8) a0 = _mm256_add_ps(a0, _mm256_maskload_ps(x + j, vk_lanes_avx2(n - j < 8 ? (int)(n - j) : 8)));
    return vk_hsum_avx2(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

VK_AVX2 static float squares_avx2(const float *x, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        const __m256 v0 = _mm256_loadu_ps(x + j), v1 = _mm256_loadu_ps(x + j + 8);
        const __m256 v2 = _mm256_loadu_ps(x + j + 16), v3 = _mm256_loadu_ps(x + j + 24);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
        a1 = _mm256_fmadd_ps(v1, v1, a1);
        a2 = _mm256_fmadd_ps(v2, v2, a2);
        a3 = _mm256_fmadd_ps(v3, v3, a3);
    }
    for (; j < n; j += 8) {
        const __m256 v = _mm256_maskload_ps(x + j, vk_lanes_avx2(n - j < 8 ? (int)(n - j) : 8));
        a0 = _mm256_fmadd_ps(v, v, a0);
    }
    return vk_hsum_avx2(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

VK_AVX2 static void centered_sums_avx2(const float *x, size_t n, float c, float *s1, float *s2) {
    const __m256 center = _mm256_set1_ps(c);
    __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, q0 = d0, q1 = d0, q2 = d0, q3 = d0;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        const __m256 v0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), center), v1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), center);
        const __m256 v2 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 16), center), v3 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 24), center);
        d0 = _mm256_add_ps(d0, v0), d1 = _mm256_add_ps(d1, v1), d2 = _mm256_add_ps(d2, v2), d3 = _mm256_add_ps(d3, v3);
        q0 = _mm256_fmadd_ps(v0, v0, q0), q1 = _mm256_fmadd_ps(v1, v1, q1);
        q2 = _mm256_fmadd_ps(v2, v2, q2), q3 = _mm256_fmadd_ps(v3, v3, q3);
    }
    for (; j < n; j += 8) {
        const __m256i lanes = vk_lanes_avx2(n - j < 8 ? (int)(n - j) : 8);
        // Masked-off lanes load 0; 0 − c must not count, so the difference is masked again.
        const __m256 v = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, lanes), center), _mm256_castsi256_ps(lanes));
        d0 = _mm256_add_ps(d0, v);
        q0 = _mm256_fmadd_ps(v, v, q0);
    }
    *s1 = vk_hsum_avx2(_mm256_add_ps(_mm256_add_ps(d0, d1), _mm256_add_ps(d2, d3)));
    *s2 = vk_hsum_avx2(_mm256_add_ps(_mm256_add_ps(q0, q1), _mm256_add_ps(q2, q3)));
}

VK_AVX2 static inline __m256 normalize8(__m256 v, __m256 c, __m256 c_lo, __m256 inverse, const float *w, const float *b, size_t j,
                                        __m256i lanes, int tail) {
    v = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(v, c), c_lo), inverse);
    if (w) v = _mm256_mul_ps(v, tail ? _mm256_maskload_ps(w + j, lanes) : _mm256_loadu_ps(w + j));
    if (b) v = _mm256_add_ps(v, tail ? _mm256_maskload_ps(b + j, lanes) : _mm256_loadu_ps(b + j));
    return v;
}

VK_AVX2 static void normalize_avx2(const float *x, float *y, size_t n, float c, float c_lo, float inverse, const float *w, const float *b) {
    const __m256 center = _mm256_set1_ps(c), lo = _mm256_set1_ps(c_lo), inv = _mm256_set1_ps(inverse);
    const __m256i all = _mm256_set1_epi32(-1);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, normalize8(_mm256_loadu_ps(x + j), center, lo, inv, w, b, j, all, 0));
    if (j < n) {
        const __m256i lanes = vk_lanes_avx2((int)(n - j));
        _mm256_maskstore_ps(y + j, lanes, normalize8(_mm256_maskload_ps(x + j, lanes), center, lo, inv, w, b, j, lanes, 1));
    }
}

/// 8 floats of a step-1 operand at p + j (masked in the tail), or p[0] broadcast for step 0.
VK_AVX2 static inline __m256 load_or_broadcast(const float *p, size_t step, size_t j, __m256i lanes, int tail) {
    if (!step) return _mm256_broadcast_ss(p);
    return tail ? _mm256_maskload_ps(p + j, lanes) : _mm256_loadu_ps(p + j);
}

VK_AVX2 static inline __m256 modulated8(__m256 v, __m256 c, __m256 c_lo, __m256 inverse, const float *scale, size_t ss,
                                        const float *shift, size_t ts, size_t j, __m256i lanes, int tail) {
    v = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(v, c), c_lo), inverse);
    const __m256 s = _mm256_add_ps(_mm256_set1_ps(1.0f), load_or_broadcast(scale, ss, j, lanes, tail));
    return _mm256_fmadd_ps(v, s, load_or_broadcast(shift, ts, j, lanes, tail));
}

VK_AVX2 static void normalize_modulate_avx2(const float *x, float *y, size_t n, float c, float c_lo, float inverse,
                                            const float *scale, size_t ss, const float *shift, size_t ts) {
    const __m256 center = _mm256_set1_ps(c), lo = _mm256_set1_ps(c_lo), inv = _mm256_set1_ps(inverse);
    const __m256i all = _mm256_set1_epi32(-1);
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(y + j, modulated8(_mm256_loadu_ps(x + j), center, lo, inv, scale, ss, shift, ts, j, all, 0));
    if (j < n) {
        const __m256i lanes = vk_lanes_avx2((int)(n - j));
        _mm256_maskstore_ps(y + j, lanes, modulated8(_mm256_maskload_ps(x + j, lanes), center, lo, inv, scale, ss, shift, ts, j, lanes, 1));
    }
}
#endif

// MARK: one row

/// The mean's correction to the pass-1 guess and 1/std, from the blocked sums (see the top of the file).
static void layer_statistics(float s1, float s2, size_t n, float eps, float *delta, float *inverse) {
    *delta = s1 / (float)n;
    *inverse = 1.0f / sqrtf(fmaxf(s2 / (float)n - *delta * *delta, 0.0f) + eps);
}

static void layer_norm_portable(const float *x, float *y, size_t n, const float *w, const float *b, float eps) {
    const float guess = sum_portable(x, n) / (float)n;
    float s1, s2, delta, inverse;
    centered_sums_portable(x, n, guess, &s1, &s2);
    layer_statistics(s1, s2, n, eps, &delta, &inverse);
    normalize_portable(x, y, n, guess, delta, inverse, w, b);
}

static void rms_norm_portable(const float *x, float *y, size_t n, const float *w, float eps) {
    float s1, s2;  // Σx is not needed: the centered sums about 0 give Σx² at the cost of one add
    centered_sums_portable(x, n, 0.0f, &s1, &s2);
    normalize_portable(x, y, n, 0.0f, 0.0f, 1.0f / sqrtf(s2 / (float)n + eps), w, NULL);
}

#if defined(__x86_64__)
VK_AVX2 static void layer_norm_avx2(const float *x, float *y, size_t n, const float *w, const float *b, float eps) {
    const float guess = sum_avx2(x, n) / (float)n;
    float s1, s2, delta, inverse;
    centered_sums_avx2(x, n, guess, &s1, &s2);
    layer_statistics(s1, s2, n, eps, &delta, &inverse);
    normalize_avx2(x, y, n, guess, delta, inverse, w, b);
}

VK_AVX2 static void rms_norm_avx2(const float *x, float *y, size_t n, const float *w, float eps) {
    normalize_avx2(x, y, n, 0.0f, 0.0f, 1.0f / sqrtf(squares_avx2(x, n) / (float)n + eps), w, NULL);
}
#endif

/// The statistics of one row for LayerNorm: the pass-1 mean `guess`, its correction `delta`, 1/std.
static void layer_row_statistics(const float *x, size_t n, float eps, int level, float *guess, float *delta, float *inverse) {
    float s1, s2;
#if defined(__x86_64__)
    if (level >= vk_level_avx2) {
        *guess = sum_avx2(x, n) / (float)n;
        centered_sums_avx2(x, n, *guess, &s1, &s2);
        layer_statistics(s1, s2, n, eps, delta, inverse);
        return;
    }
#endif
    (void)level;
    *guess = sum_portable(x, n) / (float)n;
    centered_sums_portable(x, n, *guess, &s1, &s2);
    layer_statistics(s1, s2, n, eps, delta, inverse);
}

// MARK: entry points

void vk_layer_norm_rows_f32(const float *x, float *y, size_t rows, size_t n, const float *weight,
                            const float *bias, float eps, int level) {
    if (n == 0) return;
#if defined(__x86_64__)
    if (level >= vk_level_avx2) {
        for (size_t r = 0; r < rows; r++) layer_norm_avx2(x + r * n, y + r * n, n, weight, bias, eps);
        return;
    }
#endif
    (void)level;
    for (size_t r = 0; r < rows; r++) layer_norm_portable(x + r * n, y + r * n, n, weight, bias, eps);
}

void vk_rms_norm_rows_f32(const float *x, float *y, size_t rows, size_t n, const float *weight, float eps,
                          int level) {
    if (n == 0) return;
#if defined(__x86_64__)
    if (level >= vk_level_avx2) {
        for (size_t r = 0; r < rows; r++) rms_norm_avx2(x + r * n, y + r * n, n, weight, eps);
        return;
    }
#endif
    (void)level;
    for (size_t r = 0; r < rows; r++) rms_norm_portable(x + r * n, y + r * n, n, weight, eps);
}

void vk_layer_norm_modulate_row_f32(const float *x, float *y, size_t n, const float *scale, size_t scale_step,
                                    const float *shift, size_t shift_step, float eps, int level) {
    if (n == 0) return;
    scale_step = scale_step != 0, shift_step = shift_step != 0;
    float guess, delta, inverse;
    layer_row_statistics(x, n, eps, level, &guess, &delta, &inverse);
#if defined(__x86_64__)
    if (level >= vk_level_avx2) {
        normalize_modulate_avx2(x, y, n, guess, delta, inverse, scale, scale_step, shift, shift_step);
        return;
    }
#endif
    normalize_modulate_portable(x, y, n, guess, delta, inverse, scale, scale_step, shift, shift_step);
}

// MARK: - statistics over channels ([C][spatial] planes: PixelNorm, Wan's RMS_norm)

enum { CHANNEL_BLOCK = 256 };

/// Σ over channels of x² for CHANNEL_BLOCK-or-fewer consecutive positions, in f64 (as the reference's
/// f64 sum): each channel's run is contiguous, so the sum is vectorised across positions and every
/// plane is read in order, where a per-position loop strides by the plane size.
static inline __attribute__((always_inline)) void channel_squares(const float *x, int channels, size_t spatial, int n, double *acc) {
    for (int j = 0; j < n; j++) acc[j] = 0;
    for (int c = 0; c < channels; c++) {
        const float *row = x + (size_t)c * spatial;
        for (int j = 0; j < n; j++) acc[j] += (double)row[j] * (double)row[j];
    }
}
static inline __attribute__((always_inline)) void channel_scale(const float *x, float *y, int channels, size_t spatial, int n,
                                                                const float *inverse, const float *weight, const float *bias) {
    for (int c = 0; c < channels; c++) {
        const float *row = x + (size_t)c * spatial;
        float *out = y + (size_t)c * spatial;
        const float w = weight ? weight[c] : 1.0f, b = bias ? bias[c] : 0.0f;
        for (int j = 0; j < n; j++) out[j] = row[j] * inverse[j] * w + b;
    }
}
#if defined(__x86_64__)
VK_AVX2 static void vk_channel_squares_avx2(const float *x, int channels, size_t spatial, int n, double *acc) {
    channel_squares(x, channels, spatial, n, acc);
}
#endif
static void channel_norm_block(const float *x, float *y, int channels, size_t spatial, int n, const float *weight,
                               const float *bias, float eps, int kind, int avx2) {
    double acc[CHANNEL_BLOCK];
    float inverse[CHANNEL_BLOCK];
#if defined(__x86_64__)
    if (avx2) vk_channel_squares_avx2(x, channels, spatial, n, acc);
    else channel_squares(x, channels, spatial, n, acc);
#else
    (void)avx2;
    channel_squares(x, channels, spatial, n, acc);
#endif
    for (int j = 0; j < n; j++)
        inverse[j] = kind == 0 ? (float)(1.0 / sqrt(acc[j] / channels + (double)eps))
                               : (float)(sqrt((double)channels) / fmax(sqrt(acc[j]), 1e-12));
    channel_scale(x, y, channels, spatial, n, inverse, weight, bias);
}

void vk_channel_norm_f32(const float *x, float *y, int channels, size_t spatial, size_t p0, size_t p1, const float *weight,
                         const float *bias, float eps, int kind, int level) {
    for (size_t p = p0; p < p1; p += CHANNEL_BLOCK) {
        const int n = p1 - p < CHANNEL_BLOCK ? (int)(p1 - p) : CHANNEL_BLOCK;
        channel_norm_block(x + p, y + p, channels, spatial, n, weight, bias, eps, kind, level >= vk_level_avx2);
    }
}
