// Fused attention driver: packs kᵀ and v per (batch, head) once, then for each work item (batch, head,
// block of VK_ATTN_MQ queries) runs the key tiles through the level's tile step (attention_avx2.c,
// attention_portable.c) with an online softmax, and writes out = acc / Σexp. Scratch per thread is
// one tile's scores plus the accumulator, whatever the token counts.
#include "attention_internal.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

static int round_up(int v, int to) { return (v + to - 1) / to * to; }
static int head_dim_padded(const vk_attention *a) { return round_up(a->d, VK_ATTN_PANEL); }
static int valid(const vk_attention *a) { return a->batches > 0 && a->nq > 0 && a->nk > 0 && a->heads > 0 && a->d > 0; }

/// Floats of one (batch, head)'s packed kᵀ (then v follows).
static size_t packed_keys(const vk_attention *a) { return (size_t)round_up(a->nk, VK_ATTN_PANEL) * (size_t)a->d; }
static size_t packed_pair(const vk_attention *a) { return packed_keys(a) + (size_t)a->nk * (size_t)head_dim_padded(a); }

size_t vk_attention_packed_floats(const vk_attention *a) {
    return valid(a) ? (size_t)a->batches * (size_t)a->heads * packed_pair(a) : 0;
}

/// Keys of a batch that the mask keeps (all of them without a mask).
static int kept_keys(const vk_attention *a, int batch) {
    if (!a->mask) return a->nk;
    int kept = 0;
    for (int key = 0; key < a->nk; key++) kept += a->mask[(size_t)batch * a->nk + key] != 0;
    return kept;
}

void vk_attention_pack(const vk_attention *a, int bh0, int bh1, float *packed) {
    if (!valid(a)) return;
    const int d = a->d, dp = head_dim_padded(a);
    const size_t width = (size_t)a->heads * d;
    for (int bh = bh0; bh < bh1; bh++) {
        const int batch = bh / a->heads, head = bh % a->heads;
        float *kt = packed + (size_t)bh * packed_pair(a), *v = kt + packed_keys(a);
        int c = 0;
        for (int key = 0; key < a->nk; key++) {
            if (a->mask && a->mask[(size_t)batch * a->nk + key] == 0) continue;
            const size_t row = ((size_t)batch * a->nk + key) * width + (size_t)head * d;
            // kᵀ panel: 16 consecutive kept keys side by side for each of the d components.
            float *panel = kt + (size_t)(c / VK_ATTN_PANEL) * VK_ATTN_PANEL * d + c % VK_ATTN_PANEL;
            for (int j = 0; j < d; j++) panel[(size_t)j * VK_ATTN_PANEL] = a->k[row + j];
            // v in 16-column chunks, each [nk][16]: a tile's chunk is contiguous (16 KiB at 256 keys), where
            // rows of dp floats would put its keys 512 B apart, all in 8 of the L1's 64 sets.
            for (int j = 0; j < dp; j += 16) {
                float *chunk = v + (size_t)(j / 16) * a->nk * 16 + (size_t)c * 16;
                const int n = d - j < 16 ? d - j : 16;
                memcpy(chunk, a->v + row + j, (size_t)n * sizeof(float));
                memset(chunk + n, 0, (size_t)(16 - n) * sizeof(float));
            }
            c++;
        }
        // Zero keys complete the last panel (their scores are computed, then ignored).
        for (int pad = c; pad < round_up(c, VK_ATTN_PANEL); pad++) {
            float *panel = kt + (size_t)(pad / VK_ATTN_PANEL) * VK_ATTN_PANEL * d + pad % VK_ATTN_PANEL;
            for (int j = 0; j < d; j++) panel[(size_t)j * VK_ATTN_PANEL] = 0;
        }
    }
}

static int query_blocks(const vk_attention *a) { return (a->nq + VK_ATTN_MQ - 1) / VK_ATTN_MQ; }

int vk_attention_items(const vk_attention *a) { return valid(a) ? a->batches * a->heads * query_blocks(a) : 0; }

/// Scratch layout: scores [MQ][NT], acc [MQ][dp], row max [MQ], row sum [MQ].
size_t vk_attention_scratch_bytes(const vk_attention *a) {
    const size_t floats = (size_t)VK_ATTN_MQ * VK_ATTN_NT + (size_t)VK_ATTN_MQ * head_dim_padded(a) + 2 * VK_ATTN_MQ;
    return floats * sizeof(float) + 64;
}

void vk_attention_run(const vk_attention *a, const float *packed, int i0, int i1, int level, void *scratch) {
    if (!valid(a)) return;
    const int d = a->d, dp = head_dim_padded(a), blocks = query_blocks(a);
    const size_t width = (size_t)a->heads * d;
    float *base = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    vk_attn_tile t = {
        .q_stride = width, .d = d, .dp = dp, .v_chunk = (size_t)a->nk * 16, .scale = a->scale, .scores = base,
        .acc = base + (size_t)VK_ATTN_MQ * VK_ATTN_NT,
    };
    t.row_max = t.acc + (size_t)VK_ATTN_MQ * dp;
    t.row_sum = t.row_max + VK_ATTN_MQ;
    for (int item = i0; item < i1; item++) {
        const int batch = item / (a->heads * blocks), head = item / blocks % a->heads, block = item % blocks;
        const int q0 = block * VK_ATTN_MQ, kept = kept_keys(a, batch);
        t.rows = a->nq - q0 < VK_ATTN_MQ ? a->nq - q0 : VK_ATTN_MQ;
        t.q = a->q + ((size_t)batch * a->nq + q0) * width + (size_t)head * d;
        memset(t.acc, 0, (size_t)t.rows * dp * sizeof(float));
        for (int r = 0; r < t.rows; r++) t.row_max[r] = -INFINITY, t.row_sum[r] = 0;
        const float *kt = packed + (size_t)(batch * a->heads + head) * packed_pair(a), *v = kt + packed_keys(a);
        for (int k0 = 0; k0 < kept; k0 += VK_ATTN_NT) {
            t.kt = kt + (size_t)k0 * d;  // k0 is a whole number of panels
            t.v = v + (size_t)k0 * 16;
            t.cols = kept - k0 < VK_ATTN_NT ? kept - k0 : VK_ATTN_NT;
#if defined(__x86_64__)
            if (level >= vk_level_avx2) vk_attention_tile_avx2(&t);
            else vk_attention_tile_portable(&t);
#else
            (void)level;
            vk_attention_tile_portable(&t);
#endif
        }
        // A row that kept no key (everything masked) has sum 0: its output is 0.
        for (int r = 0; r < t.rows; r++) {
            const float inverse = t.row_sum[r] > 0 ? 1.0f / t.row_sum[r] : 0.0f;
            float *out = a->out + ((size_t)batch * a->nq + q0 + r) * width + (size_t)head * d;
            const float *acc = t.acc + (size_t)r * dp;
            for (int j = 0; j < d; j++) out[j] = acc[j] * inverse;
        }
    }
}
