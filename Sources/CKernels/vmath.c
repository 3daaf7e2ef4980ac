// The level choice of the vector-math kernels, and exp / exp2 over arrays (the form the tests check).
#include "ckernels.h"
#include "vmath.h"

int vk_vector_level(int max_level) {
    const uint32_t avx2 = vk_cpu_avx2 | vk_cpu_fma;
    return max_level >= vk_level_avx2 && (vk_cpu_features() & avx2) == avx2 ? vk_level_avx2 : vk_level_portable;
}

#if defined(__x86_64__)
#define VK_ARRAY_AVX2(name, f)                                                                        \
    VK_AVX2 static void name(const float *x, float *y, size_t n) {                                  \
        size_t i = 0;                                                                               \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));              \
        if (i < n) {                                                                                \
            const __m256i lanes = vk_lanes_avx2((int)(n - i));                                      \
            _mm256_maskstore_ps(y + i, lanes, f(_mm256_maskload_ps(x + i, lanes)));                 \
        }                                                                                           \
    }
VK_ARRAY_AVX2(exp_avx2, vk_exp_avx2)
VK_ARRAY_AVX2(exp2_nonpositive_avx2, vk_exp2_nonpositive_avx2)
#endif

void vk_exp_f32(const float *x, float *y, size_t n, int level) {
#if defined(__x86_64__)
    if (level >= vk_level_avx2) { exp_avx2(x, y, n); return; }
#endif
    (void)level;
    for (size_t i = 0; i < n; i++) y[i] = vk_exp_scalar(x[i]);
}

void vk_exp2_nonpositive_f32(const float *x, float *y, size_t n, int level) {
#if defined(__x86_64__)
    if (level >= vk_level_avx2) { exp2_nonpositive_avx2(x, y, n); return; }
#endif
    (void)level;
    for (size_t i = 0; i < n; i++) y[i] = vk_exp2_nonpositive_scalar(x[i]);
}
