// The AVX2 + FMA tile step of the fused attention: q·kᵀ and p·v as 6 × 16 register tiles (12 ymm
// accumulators, 2 loads and 6 broadcasts per step, like the GEMM microkernel; ~86% of the FMA peak
// each), the online softmax of the scores in between with the 8-lane exp2 (~8% of the time).
#include "attention_internal.h"
#include "vmath.h"
#if defined(__x86_64__)
#include <math.h>

enum { MR = 6 };

/// s[i][0, 16) = q_i · (16 keys of a kᵀ panel), for mr ≤ 6 rows (missing rows repeat the last, unstored).
VK_AVX2 static void scores_tile(const float *const q[MR], const float *kt, int d, float *s, int mr) {
    __m256 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int j = 0; j < d; j++, kt += VK_ATTN_PANEL) {
        const __m256 k0 = _mm256_loadu_ps(kt), k1 = _mm256_loadu_ps(kt + 8);
        for (int i = 0; i < MR; i++) {
            const __m256 x = _mm256_broadcast_ss(q[i] + j);
            acc[i][0] = _mm256_fmadd_ps(x, k0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(x, k1, acc[i][1]);
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm256_storeu_ps(s + (size_t)i * VK_ATTN_NT, acc[i][0]);
        _mm256_storeu_ps(s + (size_t)i * VK_ATTN_NT + 8, acc[i][1]);
    }
}

/// acc[i][0, 16) += Σ_c p[i][c] · v[c][0, 16) for mr ≤ 6 rows (p rows VK_ATTN_NT apart, v a [cols][16]
/// chunk, acc rows dp apart).
VK_AVX2 static void values_tile(const float *p, const float *v, int cols, int dp, float *acc, int mr) {
    const float *row[MR];
    __m256 sum[MR][2];
    for (int i = 0; i < MR; i++) {
        row[i] = p + (size_t)(i < mr ? i : mr - 1) * VK_ATTN_NT;
        sum[i][0] = i < mr ? _mm256_loadu_ps(acc + (size_t)i * dp) : _mm256_setzero_ps();
        sum[i][1] = i < mr ? _mm256_loadu_ps(acc + (size_t)i * dp + 8) : _mm256_setzero_ps();
    }
    for (int c = 0; c < cols; c++, v += 16) {
        const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8);
        for (int i = 0; i < MR; i++) {
            const __m256 x = _mm256_broadcast_ss(row[i] + c);
            sum[i][0] = _mm256_fmadd_ps(x, v0, sum[i][0]);
            sum[i][1] = _mm256_fmadd_ps(x, v1, sum[i][1]);
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm256_storeu_ps(acc + (size_t)i * dp, sum[i][0]);
        _mm256_storeu_ps(acc + (size_t)i * dp + 8, sum[i][1]);
    }
}

/// Per row: new max over the tile, scores → exp((s − max)·scale) = 2^((s − max)·scale·log2 e) (one FMA
/// gives the exp2 argument), running sum and accumulator rescaled.
VK_AVX2 static void softmax_rows(const vk_attn_tile *t) {
    const int cols = t->cols, cols8 = (cols + 7) & ~7;
    const float scale2 = t->scale * VK_LOG2E;  // exp(scale·(s − max)) = 2^(scale·log2(e)·(s − max))
    const __m256 scale = _mm256_set1_ps(scale2);
    for (int r = 0; r < t->rows; r++) {
        float *s = t->scores + (size_t)r * VK_ATTN_NT;
        for (int c = cols; c < cols8; c++) s[c] = -INFINITY;  // zero keys of the last panel: weight 0
        __m256 top = _mm256_set1_ps(-INFINITY);
        for (int c = 0; c < cols8; c += 8) top = _mm256_max_ps(top, _mm256_loadu_ps(s + c));
        const float old = t->row_max[r], now = fmaxf(old, vk_hmax_avx2(top));
        const float correction = vk_exp_scalar((old - now) * t->scale);  // 0 on the first tile (old = −inf)
        const __m256 shift = _mm256_set1_ps(now * scale2);
        __m256 sum = _mm256_setzero_ps();
        for (int c = 0; c < cols8; c += 8) {
            const __m256 p = vk_exp2_nonpositive_avx2(_mm256_fmsub_ps(_mm256_loadu_ps(s + c), scale, shift));
            _mm256_storeu_ps(s + c, p);
            sum = _mm256_add_ps(sum, p);
        }
        t->row_sum[r] = t->row_sum[r] * correction + vk_hsum_avx2(sum);
        t->row_max[r] = now;
        if (correction != 1.0f) {
            float *acc = t->acc + (size_t)r * t->dp;
            const __m256 f = _mm256_set1_ps(correction);
            for (int j = 0; j < t->dp; j += 8) _mm256_storeu_ps(acc + j, _mm256_mul_ps(_mm256_loadu_ps(acc + j), f));
        }
    }
}

VK_AVX2 void vk_attention_tile_avx2(const vk_attn_tile *t) {
    const int panels = (t->cols + VK_ATTN_PANEL - 1) / VK_ATTN_PANEL;
    // Scores: 6 query rows (3 KiB at d = 128) stay in L1 while the tile's kᵀ panels stream from L2.
    for (int g = 0; g < t->rows; g += MR) {
        const int mr = t->rows - g < MR ? t->rows - g : MR;
        const float *q[MR];
        for (int i = 0; i < MR; i++) q[i] = t->q + (size_t)(g + (i < mr ? i : mr - 1)) * t->q_stride;
        for (int p = 0; p < panels; p++) {
            const float *kt = t->kt + (size_t)p * VK_ATTN_PANEL * t->d;
            scores_tile(q, kt, t->d, t->scores + (size_t)g * VK_ATTN_NT + (size_t)p * VK_ATTN_PANEL, mr);
        }
    }
    softmax_rows(t);
    // Values: a 16-column chunk of v (16 KiB at 256 keys) stays in L1 while all rows pass over it.
    for (int j = 0; j < t->dp; j += 16)
        for (int g = 0; g < t->rows; g += MR) {
            const int mr = t->rows - g < MR ? t->rows - g : MR;
            values_tile(t->scores + (size_t)g * VK_ATTN_NT, t->v + (size_t)(j / 16) * t->v_chunk, t->cols, t->dp,
                        t->acc + (size_t)g * t->dp + j, mr);
        }
}
#endif
