#include "ckernels.h"
#include <string.h>

// f16 → f32 without F16C: put exponent and mantissa into f32 position and rescale by 2^112 (exact for
// normals and subnormals alike); infinities and NaNs get the f32 all-ones exponent.
float vk_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t magnitude = h & 0x7fffu;
    uint32_t bits = magnitude << 13;
    float f;
    memcpy(&f, &bits, 4);
    f *= 0x1p112f;
    memcpy(&bits, &f, 4);
    if (magnitude >= 0x7c00u) bits = 0x7f800000u | (magnitude & 0x3ffu) << 13;
    bits |= sign;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t vk_f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

#if defined(__x86_64__)
#include <immintrin.h>
#define VK_F16C __attribute__((target("avx,f16c")))
VK_F16C static void f32_to_f16_f16c(const float *x, uint16_t *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) {
        const __m128i h = _mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT);
        y[i] = (uint16_t)_mm_extract_epi16(h, 0);
    }
}
VK_F16C static void f16_to_f32_f16c(const uint16_t *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = vk_f16_to_f32(x[i]);
}
#endif

#if defined(__x86_64__)
/// F16C, looked up once (the conversions run per worker range of every compacted or widened tensor).
static int has_f16c(void) {
    static int known = -1;
    if (known < 0) known = (vk_cpu_features() & vk_cpu_f16c) != 0;
    return known;
}
#endif

void vk_f32_to_f16_n(const float *x, uint16_t *y, size_t n) {
#if defined(__x86_64__)
    if (has_f16c()) return f32_to_f16_f16c(x, y, n);
#endif
    for (size_t i = 0; i < n; i++) {
        const _Float16 h = (_Float16)x[i];  // the compiler's conversion: round to nearest even
        memcpy(y + i, &h, sizeof h);
    }
}

void vk_f16_to_f32_n(const uint16_t *x, float *y, size_t n) {
#if defined(__x86_64__)
    if (has_f16c()) return f16_to_f32_f16c(x, y, n);
#endif
    for (size_t i = 0; i < n; i++) y[i] = vk_f16_to_f32(x[i]);
}
