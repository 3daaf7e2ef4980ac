// Portable microkernels (plain C, tile 4×16) and the portable activation quantizer: the fallback on
// CPUs without AVX2, the path VACEKIT_CPU_KERNELS=portable forces, and the simplest statement of
// what the vector kernels compute.
#include "gemm_internal.h"
#include <math.h>

enum { MR = 4, NR = 16 };

static void store_tile(const vk_tile *t, const float tile[MR][NR]) {
    for (int i = 0; i < t->mr; i++)
        for (int j = 0; j < t->nr; j++) {
            float *c = t->c + (size_t)i * t->ldc + j;
            *c = t->accumulate ? *c + tile[i][j] : tile[i][j];
        }
}

void vk_kernel_f32_portable(const vk_tile *t) {
    const float *a[MR];
    for (int i = 0; i < MR; i++) a[i] = (const float *)(t->a + (size_t)(i < t->mr ? i : t->mr - 1) * t->a_stride);
    const float *p = (const float *)t->panel;
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < t->kc; k++, p += NR)
        for (int i = 0; i < MR; i++) {
            const float x = a[i][k];
            for (int j = 0; j < NR; j++) acc[i][j] += x * p[j];
        }
    store_tile(t, acc);
}

void vk_kernel_i8_portable(const vk_tile *t) {
    const int8_t *a[MR];
    for (int i = 0; i < MR; i++) a[i] = (const int8_t *)(t->a + (size_t)(i < t->mr ? i : t->mr - 1) * t->a_stride);
    const int8_t *p = (const int8_t *)t->panel;
    float tile[MR][NR] = {{0}};
    for (int g = 0; g < t->kc / t->group; g++) {
        int32_t acc[MR][NR] = {{0}};
        for (int k = g * t->group; k < (g + 1) * t->group; k++, p += NR)
            for (int i = 0; i < MR; i++) {
                const int32_t x = a[i][k];
                for (int j = 0; j < NR; j++) acc[i][j] += x * p[j];
            }
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) {
                const int32_t sum = acc[i][j] - (t->comp ? t->comp[g * NR + j] : 0);
                tile[i][j] += (float)sum * (t->scales ? t->scales[g * NR + j] : 1.0f);
            }
    }
    store_tile(t, tile);
}

void vk_prep_s8_portable(const float *x, int k, int stride, int m0, int m1, int8_t *act, float *scales) {
    for (int m = m0; m < m1; m++) {
        const float *row = x + (size_t)m * k;
        int8_t *out = act + (size_t)m * stride;
        float amax = 0;
        for (int i = 0; i < k; i++) amax = fmaxf(amax, fabsf(row[i]));
        const float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        scales[m] = amax / 127.0f;
        for (int i = 0; i < k; i++) {
            const float q = rintf(row[i] * inverse);
            out[i] = (int8_t)(q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q);
        }
        for (int i = k; i < stride; i++) out[i] = 0;
    }
}
