// Packers: one NR-column block of W, straight from the .vkq layout (row-major [n][k], f16 scales per
// group), into the layout a microkernel reads with aligned vector loads. Nothing is packed at load:
// a block (KC × NR, a few KiB) is packed right before all M rows sweep over it.
#include "gemm_internal.h"

static inline int groups_per_row(const vk_weight *w, int group) { return group < w->k ? w->k / group : 1; }

static inline float bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// f32 [kc][NR]: q8 dequantized (q · scale), bf16 and f16 widened.
void vk_pack_f32(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, float *panel) {
    const int k = w->k;
    for (int j = 0; j < NR; j++) {
        float *column = panel + j;
        if (j >= nr) {
            for (int i = 0; i < kc; i++) column[(size_t)i * NR] = 0;
            continue;
        }
        const size_t row = (size_t)(n0 + j);
        if (w->kind == vk_weight_q8) {
            const int group = w->group > 0 && w->group < k ? w->group : k;
            const int8_t *q = (const int8_t *)w->data + row * k + k0;
            const uint16_t *s = w->scales + row * groups_per_row(w, group);
            for (int i = 0; i < kc;) {
                const int g = (k0 + i) / group;
                const int end = (g + 1) * group - k0 < kc ? (g + 1) * group - k0 : kc;
                const float scale = vk_f16_to_f32(s[g]);
                for (; i < end; i++) column[(size_t)i * NR] = (float)q[i] * scale;
            }
        } else {
            const uint16_t *v = (const uint16_t *)w->data + row * k + k0;
            if (w->kind == vk_weight_bf16)
                for (int i = 0; i < kc; i++) column[(size_t)i * NR] = bf16_to_f32(v[i]);
            else
                for (int i = 0; i < kc; i++) column[(size_t)i * NR] = vk_f16_to_f32(v[i]);
        }
    }
}

/// s8 [kc][NR] (portable W8A8).
void vk_pack_s8_k1(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, int8_t *panel) {
    for (int j = 0; j < NR; j++) {
        const int8_t *q = (const int8_t *)w->data + (size_t)(n0 + j) * w->k + k0;
        for (int i = 0; i < kc; i++) panel[(size_t)i * NR + j] = j < nr ? q[i] : 0;
    }
}

/// s16 [kcp/2][NR][2]: k pairs of one column side by side, for vpmaddwd (AVX2 W8A8).
#if defined(__x86_64__)
#include <immintrin.h>
/// 16 k values (8 pairs) of 8 rows: each row's 16 int8 widened to 8 dwords (a dword = one k pair), the 8 × 8
/// dwords transposed so that pair p of the 8 rows lands contiguously at out + p · stride (int16 units).
__attribute__((target("avx2"))) static inline void pack_8rows_16k(const int8_t *q, size_t row_stride, int16_t *out, size_t stride) {
    __m256 a[8], t[8], u[8];
    for (int r = 0; r < 8; r++)
        a[r] = _mm256_castsi256_ps(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + (size_t)r * row_stride))));
    for (int r = 0; r < 8; r += 2) {
        t[r] = _mm256_unpacklo_ps(a[r], a[r + 1]);
        t[r + 1] = _mm256_unpackhi_ps(a[r], a[r + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
        u[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
        u[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
        u[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
        u[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
    }
    for (int p = 0; p < 4; p++) {
        _mm256_storeu_ps((float *)(out + (size_t)p * stride), _mm256_permute2f128_ps(u[p], u[p + 4], 0x20));
        _mm256_storeu_ps((float *)(out + (size_t)(p + 4) * stride), _mm256_permute2f128_ps(u[p], u[p + 4], 0x31));
    }
}

/// The full part of a block (NR = 16 rows, all present): 16 k at a time, 8 rows per transpose.
__attribute__((target("avx2"))) static int pack_s16_k2_avx2(const int8_t *q, size_t row_stride, int kc, int16_t *panel) {
    int i = 0;
    for (; i + 16 <= kc; i += 16) {
        int16_t *out = panel + (size_t)(i >> 1) * 32;
        pack_8rows_16k(q + i, row_stride, out, 32);
        pack_8rows_16k(q + 8 * row_stride + i, row_stride, out + 16, 32);
    }
    return i;
}
#endif

void vk_pack_s16_k2(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, int kcp, int16_t *panel) {
    int done = 0;  // k values already packed for every row
#if defined(__x86_64__)
    // Reached only at the AVX2 level (gemm_driver.c): the whole 16-row blocks vectorised, 16 k at a time.
    if (NR == 16 && nr == 16) done = pack_s16_k2_avx2((const int8_t *)w->data + (size_t)n0 * w->k + k0, (size_t)w->k, kc, panel);
#endif
    for (int j = 0; j < NR; j++) {
        const int8_t *q = (const int8_t *)w->data + (size_t)(n0 + j) * w->k + k0;
        for (int i = done; i < kcp; i++)
            panel[(size_t)(i >> 1) * NR * 2 + j * 2 + (i & 1)] = j < nr && i < kc ? q[i] : 0;
    }
}

/// bf16 [kcp/2][NR][2] for vdpbf16ps: q8 values as exact bf16 integers (scales applied per group by
/// the kernel), or bf16 weights as stored.
void vk_pack_bf16_k2(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, int kcp, uint16_t *panel) {
    for (int j = 0; j < NR; j++) {
        const size_t row = (size_t)(n0 + j) * w->k + k0;
        for (int i = 0; i < kcp; i++) {
            uint16_t v = 0;
            if (j < nr && i < kc) {
                if (w->kind == vk_weight_q8) {
                    const float f = (float)((const int8_t *)w->data)[row + i];  // |q| ≤ 128: exact in bf16
                    uint32_t bits;
                    memcpy(&bits, &f, 4);
                    v = (uint16_t)(bits >> 16);
                } else {
                    v = ((const uint16_t *)w->data)[row + i];
                }
            }
            panel[(size_t)(i >> 1) * NR * 2 + j * 2 + (i & 1)] = v;
        }
    }
}

/// scales [groups in block][NR] as f32: the block's groups (one when the scale covers the whole row).
void vk_pack_scales(const vk_weight *w, int group, int n0, int nr, int NR, int k0, int kc, float *scales) {
    const int per_row = groups_per_row(w, group);
    const int first = per_row > 1 ? k0 / group : 0;
    const int count = per_row > 1 ? kc / group : 1;
    for (int g = 0; g < count; g++)
        for (int j = 0; j < NR; j++)
            scales[g * NR + j] = j < nr ? vk_f16_to_f32(w->scales[(size_t)(n0 + j) * per_row + first + g]) : 0;
}
