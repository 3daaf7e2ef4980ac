// GELU (tanh approximation) and SiLU over arrays: both are v · σ(a·v + …) = v / (1 + exp(−…)), one exp
// and one division per element, no tanh.
#include "ckernels.h"
#include "vmath.h"

// GELU-tanh: 0.5·v·(1 + tanh(u)) = v · σ(2u), u = √(2/π)·(v + 0.044715·v³); the exp takes −2u.
#define VK_GELU_2C (-1.5957691216057308f)  // −2·√(2/π)
#define VK_GELU_A 0.044715f

static inline float gelu_scalar(float v) { return v / (1.0f + vk_exp_scalar(VK_GELU_2C * (v + VK_GELU_A * v * v * v))); }
static inline float silu_scalar(float v) { return v / (1.0f + vk_exp_scalar(-v)); }

#if defined(__x86_64__)
VK_AVX2 static inline __m256 gelu_avx2(__m256 v) {
    const __m256 inner = _mm256_mul_ps(v, _mm256_fmadd_ps(_mm256_mul_ps(v, v), _mm256_set1_ps(VK_GELU_A), _mm256_set1_ps(1.0f)));
    const __m256 e = vk_exp_avx2(_mm256_mul_ps(inner, _mm256_set1_ps(VK_GELU_2C)));
    return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
VK_AVX2 static inline __m256 silu_avx2(__m256 v) {
    const __m256 e = vk_exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), v));
    return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// Two vectors per step: the exp's dependency chain is long, two independent ones fill the pipes.
#define VK_MAP_AVX2(name, f)                                                                        \
    VK_AVX2 static void name(const float *x, float *y, size_t n) {                                  \
        size_t i = 0;                                                                               \
        for (; i + 16 <= n; i += 16) {                                                              \
            const __m256 a = f(_mm256_loadu_ps(x + i)), b = f(_mm256_loadu_ps(x + i + 8));          \
            _mm256_storeu_ps(y + i, a);                                                             \
            _mm256_storeu_ps(y + i + 8, b);                                                         \
        }                                                                                           \
        for (; i < n; i += 8) {                                                                     \
            const __m256i lanes = vk_lanes_avx2(n - i < 8 ? (int)(n - i) : 8);                      \
            _mm256_maskstore_ps(y + i, lanes, f(_mm256_maskload_ps(x + i, lanes)));                 \
        }                                                                                           \
    }
VK_MAP_AVX2(gelu_tanh_avx2, gelu_avx2)
VK_MAP_AVX2(silu_avx2_rows, silu_avx2)
#endif

void vk_gelu_tanh_f32(const float *x, float *y, size_t n, int level) {
#if defined(__x86_64__)
    if (level >= vk_level_avx2) { gelu_tanh_avx2(x, y, n); return; }
#endif
    (void)level;
    for (size_t i = 0; i < n; i++) y[i] = gelu_scalar(x[i]);
}

void vk_silu_f32(const float *x, float *y, size_t n, int level) {
#if defined(__x86_64__)
    if (level >= vk_level_avx2) { silu_avx2_rows(x, y, n); return; }
#endif
    (void)level;
    for (size_t i = 0; i < n; i++) y[i] = silu_scalar(x[i]);
}
