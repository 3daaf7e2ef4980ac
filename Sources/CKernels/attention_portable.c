// Plain-C softmax for attention: the tile step of the fused kernel on CPUs without AVX2, and the
// online-softmax update of the attention that scores its tiles with BLAS (CPUBackend's portable path).
// The loops are written so that the compiler vectorises them with the baseline SIMD.
#include "attention_internal.h"
#include "vmath.h"
#include <math.h>
#include <string.h>

enum { LANES = 8 };

/// Max and sum over 8 independent lanes: reductions the compiler vectorises without reassociating.
static float max_of(const float *s, int n) {
    float lane[LANES];
    for (int l = 0; l < LANES; l++) lane[l] = -INFINITY;
    int c = 0;
    for (; c + LANES <= n; c += LANES)
        for (int l = 0; l < LANES; l++) lane[l] = s[c + l] > lane[l] ? s[c + l] : lane[l];
    for (; c < n; c++) lane[0] = s[c] > lane[0] ? s[c] : lane[0];
    float top = lane[0];
    for (int l = 1; l < LANES; l++) top = lane[l] > top ? lane[l] : top;
    return top;
}

static float sum_of(const float *s, int n) {
    float lane[LANES] = {0};
    int c = 0;
    for (; c + LANES <= n; c += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += s[c + l];
    for (; c < n; c++) lane[c % LANES] += s[c];
    float sum = 0;
    for (int l = 0; l < LANES; l++) sum += lane[l];
    return sum;
}

/// One row's online-softmax update: scores (already scaled) → exp(s − max), running max / sum, the
/// accumulator row rescaled. Keys with weight 0 are −inf here.
static void softmax_row(float *s, int cols, float *row_max, float *row_sum, float *acc, int d) {
    const float top = max_of(s, cols), now = *row_max > top ? *row_max : top;
    if (now == -INFINITY) {  // every key so far masked: nothing to add
        memset(s, 0, (size_t)cols * sizeof(float));
        return;
    }
    const float correction = vk_exp_scalar(*row_max - now);  // 0 on the first key (old max −inf)
    for (int c = 0; c < cols; c++) s[c] = vk_exp_scalar(s[c] - now);
    *row_sum = *row_sum * correction + sum_of(s, cols);
    *row_max = now;
    if (correction != 1.0f)
        for (int j = 0; j < d; j++) acc[j] *= correction;
}

void vk_softmax_tile_f32(float *scores, int rows, int cols, int ld, const float *mask, float *row_max,
                         float *row_sum, float *acc, int d) {
    for (int r = 0; r < rows; r++) {
        float *s = scores + (size_t)r * ld;
        if (mask)
            for (int c = 0; c < cols; c++) s[c] = mask[c] == 0 ? -INFINITY : s[c];
        softmax_row(s, cols, row_max + r, row_sum + r, acc + (size_t)r * d, d);
    }
}

void vk_attention_tile_portable(const vk_attn_tile *t) {
    const int d = t->d, dp = t->dp, cols = t->cols, panels = (cols + VK_ATTN_PANEL - 1) / VK_ATTN_PANEL;
    for (int r = 0; r < t->rows; r++) {
        const float *q = t->q + (size_t)r * t->q_stride;
        float *s = t->scores + (size_t)r * VK_ATTN_NT;
        for (int p = 0; p < panels; p++) {
            float dot[VK_ATTN_PANEL] = {0};
            const float *kt = t->kt + (size_t)p * VK_ATTN_PANEL * d;
            for (int j = 0; j < d; j++)
                for (int l = 0; l < VK_ATTN_PANEL; l++) dot[l] += q[j] * kt[(size_t)j * VK_ATTN_PANEL + l];
            for (int l = 0; l < VK_ATTN_PANEL; l++) s[p * VK_ATTN_PANEL + l] = dot[l] * t->scale;
        }
        float *acc = t->acc + (size_t)r * dp;
        softmax_row(s, cols, t->row_max + r, t->row_sum + r, acc, dp);
        for (int j0 = 0; j0 < dp; j0 += 16) {
            const float *v = t->v + (size_t)(j0 / 16) * t->v_chunk;
            for (int c = 0; c < cols; c++)
                for (int j = 0; j < 16; j++) acc[j0 + j] += s[c] * v[(size_t)c * 16 + j];
        }
    }
}
