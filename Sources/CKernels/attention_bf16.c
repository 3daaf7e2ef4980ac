// The bf16 fused attention (AVX-512 BF16): the f32 driver's blocking (attention.c: a block of 96 queries
// meets 256-key tiles with an online softmax), with q·kᵀ and p·v as vdpbf16ps register tiles of 8 rows ×
// 32 columns (16 zmm accumulators, 2 loads and 8 pair broadcasts per step). vdpbf16ps sums two products
// into each f32 lane, so the operands are packed in pairs along the reduced axis: kᵀ pairs the head dims
// of each key, v pairs consecutive keys. Inputs are rounded to bf16 once (q per work item, k and v at
// packing, the softmax weights per tile); the scores, the softmax and the accumulator stay f32, as in
// PyTorch's bf16 flash attention (aten/src/ATen/native/cpu/FlashAttentionKernel.cpp).
#include "attention_internal.h"
#include "vmath.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

enum { MR = 8, KEYS = 32 };  // register tile: 8 query rows × 32 keys (scores) or 32 head dims (values)
enum { VK_ATTN_MAX_PAIRS = VK_ATTN_BF16_MAX_D / 2 };

static int round_up(int v, int to) { return (v + to - 1) / to * to; }
static int valid(const vk_attention *a) { return a->batches > 0 && a->nq > 0 && a->nk > 0 && a->heads > 0 && a->d > 0; }
static int dim_pairs(const vk_attention *a) { return (a->d + 1) / 2; }
static int dims_padded(const vk_attention *a) { return round_up(a->d, 16); }
static int keys_padded(const vk_attention *a) { return round_up(a->nk, KEYS); }

/// bf16 elements of one (batch, head): kᵀ [keys/32 panels][d/2 pairs][32 keys][2], then v
/// [dp/16 chunks][keys/2 pairs][16 dims][2].
static size_t packed_keys(const vk_attention *a) { return (size_t)keys_padded(a) * (size_t)dim_pairs(a) * 2; }
static size_t packed_pair(const vk_attention *a) { return packed_keys(a) + (size_t)keys_padded(a) * (size_t)dims_padded(a); }

size_t vk_attention_bf16_packed_bytes(const vk_attention *a) {
    return valid(a) ? (size_t)a->batches * (size_t)a->heads * packed_pair(a) * sizeof(uint16_t) : 0;
}

#if defined(__x86_64__)
/// 16 floats of a row (n ≤ 16 of them; zeros past n) → 16 bf16, rounded to nearest even.
AVX512BF16 static inline __m256i row_bf16(const float *x, int n) {
    const __mmask16 m = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
    return (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x));
}

/// kᵀ of one key at position c of the panels: its row as bf16 pairs (32-bit words), word j to pair row j.
AVX512BF16 static void pack_key(const float *k, int d, int pairs, int c, uint16_t *kt) {
    uint32_t words[VK_ATTN_MAX_PAIRS];
    for (int j = 0; j < d; j += 16) _mm256_storeu_si256((__m256i *)((uint16_t *)words + j), row_bf16(k + j, d - j));
    uint32_t *panel = (uint32_t *)(kt + (size_t)(c / KEYS) * pairs * KEYS * 2) + c % KEYS;
    for (int j = 0; j < pairs; j++) panel[(size_t)j * KEYS] = words[j];
}

/// v of the key pair (a, b) (b NULL: a zero key) at pair position c2: each 16-dim chunk interleaved
/// a0 b0 a1 b1 … a15 b15, the 32 bf16 that one vdpbf16ps lane set reads.
AVX512BF16 static void pack_value_pair(const float *a, const float *b, int d, size_t chunk, int c2, uint16_t *v) {
    for (int j = 0; j < d; j += 16) {
        const __m256i x = row_bf16(a + j, d - j), y = b ? row_bf16(b + j, d - j) : _mm256_setzero_si256();
        // unpack works within 128-bit lanes: lo = a0..3|a8..11 interleaved, hi = a4..7|a12..15.
        const __m256i lo = _mm256_unpacklo_epi16(x, y), hi = _mm256_unpackhi_epi16(x, y);
        uint16_t *dst = v + (size_t)(j / 16) * chunk + (size_t)c2 * 32;
        _mm256_storeu_si256((__m256i *)dst, _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(dst + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}

AVX512BF16 void vk_attention_bf16_pack(const vk_attention *a, int bh0, int bh1, uint16_t *packed) {
    if (!valid(a) || a->d > 2 * VK_ATTN_MAX_PAIRS) return;
    const int d = a->d, pairs = dim_pairs(a), np = keys_padded(a);
    const size_t width = (size_t)a->heads * d;
    for (int bh = bh0; bh < bh1; bh++) {
        const int batch = bh / a->heads, head = bh % a->heads;
        uint16_t *kt = packed + (size_t)bh * packed_pair(a), *v = kt + packed_keys(a);
        memset(kt, 0, packed_pair(a) * sizeof(uint16_t));  // zero keys complete the last panel and pair
        const float *pending = NULL;  // the first value row of a pair not yet written
        int c = 0;
        for (int key = 0; key < a->nk; key++) {
            if (a->mask && a->mask[(size_t)batch * a->nk + key] == 0) continue;  // masked keys add exactly 0
            const size_t row = ((size_t)batch * a->nk + key) * width + (size_t)head * d;
            pack_key(a->k + row, d, pairs, c, kt);
            if (c % 2) pack_value_pair(pending, a->v + row, d, (size_t)np * 16, c / 2, v);
            else pending = a->v + row;
            c++;
        }
        if (c % 2) pack_value_pair(pending, NULL, d, (size_t)np * 16, c / 2, v);
    }
}
#else
void vk_attention_bf16_pack(const vk_attention *a, int bh0, int bh1, uint16_t *packed) {
    (void)a, (void)bh0, (void)bh1, (void)packed;  // never called: vk_attention_bf16_available is 0
}
#endif

int vk_attention_bf16_available(void) {
    const uint32_t need = vk_cpu_avx512f | vk_cpu_avx512bw | vk_cpu_avx512bf16;
#if defined(__x86_64__)
    return (vk_cpu_features() & need) == need;
#else
    (void)need;
    return 0;
#endif
}

/// Scratch: q in bf16 [MQ][2·pairs], scores f32 [MQ][NT], weights in bf16 [MQ][NT], acc f32 [MQ][dp],
/// row max and sum [MQ].
size_t vk_attention_bf16_scratch_bytes(const vk_attention *a) {
    const size_t halves = (size_t)VK_ATTN_MQ * dim_pairs(a) * 2 + (size_t)VK_ATTN_MQ * VK_ATTN_NT;
    const size_t floats = (size_t)VK_ATTN_MQ * VK_ATTN_NT + (size_t)VK_ATTN_MQ * dims_padded(a) + 2 * VK_ATTN_MQ;
    return halves * sizeof(uint16_t) + floats * sizeof(float) + 4 * 64;
}

#if defined(__x86_64__)
typedef struct {
    const uint16_t *q;   // [rows][2·pairs] bf16
    int rows, pairs, dp;
    const uint16_t *kt;  // the tile's first kᵀ panel
    const uint16_t *v;   // the tile's first value pair in chunk 0
    size_t v_chunk;      // bf16 elements between the column chunks of v
    int cols;            // keys in the tile
    float scale;
    float *scores;       // [MQ][NT]
    uint16_t *weights;   // [MQ][NT] bf16
    float *acc, *row_max, *row_sum;
} tile_bf16;

/// The two bf16 values at p as one 32-bit lane (what vdpbf16ps pairs), read without type punning.
static inline int32_t pair_at(const uint16_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/// s[i][0, 32) = q_i · (32 keys of a kᵀ panel) for 8 rows (the block's scratch has whole groups of 8).
AVX512BF16 static void scores_tile(const uint16_t *q, int pairs, const uint16_t *kt, float *s) {
    __m512 acc[MR][2];
    const uint16_t *row[MR];
    for (int i = 0; i < MR; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        row[i] = q + (size_t)i * pairs * 2;
    }
    for (int j = 0; j < pairs; j++, kt += KEYS * 2) {
        const __m512bh k0 = (__m512bh)_mm512_loadu_si512(kt), k1 = (__m512bh)_mm512_loadu_si512(kt + 32);
        for (int i = 0; i < MR; i++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32(pair_at(row[i] + 2 * j));
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], x, k0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], x, k1);
        }
    }
    for (int i = 0; i < MR; i++) {
        _mm512_storeu_ps(s + (size_t)i * VK_ATTN_NT, acc[i][0]);
        _mm512_storeu_ps(s + (size_t)i * VK_ATTN_NT + 16, acc[i][1]);
    }
}

/// acc[i][0, 16·chunks) += Σ_c p[i][c] · v[c][...] over `pairs` key pairs for 8 rows, chunks ∈ {1, 2} of
/// 16 dims (one chunk: the second is computed from the first again and not stored).
AVX512BF16 static void values_tile(const uint16_t *p, const uint16_t *v, size_t v_chunk, int pairs, int dp, float *acc,
                                   int chunks) {
    __m512 sum[MR][2];
    const uint16_t *row[MR];
    for (int i = 0; i < MR; i++) {
        row[i] = p + (size_t)i * VK_ATTN_NT;
        sum[i][0] = _mm512_loadu_ps(acc + (size_t)i * dp);
        sum[i][1] = chunks > 1 ? _mm512_loadu_ps(acc + (size_t)i * dp + 16) : _mm512_setzero_ps();
    }
    const uint16_t *v1 = chunks > 1 ? v + v_chunk : v;
    for (int c = 0; c < pairs; c++) {
        const __m512bh a = (__m512bh)_mm512_loadu_si512(v + (size_t)c * 32);
        const __m512bh b = (__m512bh)_mm512_loadu_si512(v1 + (size_t)c * 32);
        for (int i = 0; i < MR; i++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32(pair_at(row[i] + 2 * c));
            sum[i][0] = _mm512_dpbf16_ps(sum[i][0], x, a);
            sum[i][1] = _mm512_dpbf16_ps(sum[i][1], x, b);
        }
    }
    for (int i = 0; i < MR; i++) {
        _mm512_storeu_ps(acc + (size_t)i * dp, sum[i][0]);
        if (chunks > 1) _mm512_storeu_ps(acc + (size_t)i * dp + 16, sum[i][1]);
    }
}

/// Per row: the online-softmax update of attention_avx2.c's softmax_rows, then the weights rounded to bf16
/// (keys past `cols` up to the 32-key panel get weight 0).
AVX512BF16 static void softmax_rows(const tile_bf16 *t) {
    const int cols = t->cols, cols32 = round_up(cols, KEYS);
    const float scale2 = t->scale * VK_LOG2E;
    const __m512 scale = _mm512_set1_ps(scale2);
    for (int r = 0; r < t->rows; r++) {
        float *s = t->scores + (size_t)r * VK_ATTN_NT;
        for (int c = cols; c < cols32; c++) s[c] = -INFINITY;
        __m512 top = _mm512_set1_ps(-INFINITY);
        for (int c = 0; c < cols32; c += 16) top = _mm512_max_ps(top, _mm512_loadu_ps(s + c));
        const float old = t->row_max[r], now = fmaxf(old, _mm512_reduce_max_ps(top));
        const float correction = vk_exp_scalar((old - now) * t->scale);  // 0 on the first tile (old = −inf)
        const __m512 shift = _mm512_set1_ps(now * scale2);
        __m512 sum = _mm512_setzero_ps();
        uint16_t *w = t->weights + (size_t)r * VK_ATTN_NT;
        for (int c = 0; c < cols32; c += 32) {
            const __m512 p0 = vk_exp2_nonpositive_avx512(_mm512_fmsub_ps(_mm512_loadu_ps(s + c), scale, shift));
            const __m512 p1 = vk_exp2_nonpositive_avx512(_mm512_fmsub_ps(_mm512_loadu_ps(s + c + 16), scale, shift));
            sum = _mm512_add_ps(sum, _mm512_add_ps(p0, p1));
            _mm512_storeu_si512(w + c, (__m512i)_mm512_cvtne2ps_pbh(p1, p0));  // p0 in the low half
        }
        t->row_sum[r] = t->row_sum[r] * correction + _mm512_reduce_add_ps(sum);
        t->row_max[r] = now;
        if (correction != 1.0f) {
            float *acc = t->acc + (size_t)r * t->dp;
            const __m512 f = _mm512_set1_ps(correction);
            for (int j = 0; j < t->dp; j += 16) _mm512_storeu_ps(acc + j, _mm512_mul_ps(_mm512_loadu_ps(acc + j), f));
        }
    }
}

AVX512BF16 static void tile_step(const tile_bf16 *t) {
    const int panels = (t->cols + KEYS - 1) / KEYS;
    // Scores: one kᵀ panel (4 KiB at d = 64) stays in L1 while every query row of the block (12 KiB in
    // bf16) passes over it; rows past the block's last are scratch rows, computed and never read.
    for (int p = 0; p < panels; p++)
        for (int g = 0; g < t->rows; g += MR)
            scores_tile(t->q + (size_t)g * t->pairs * 2, t->pairs, t->kt + (size_t)p * t->pairs * KEYS * 2,
                        t->scores + (size_t)g * VK_ATTN_NT + (size_t)p * KEYS);
    softmax_rows(t);
    // Values: two 16-dim chunks of v (8 KiB each at 256 keys) stay in L1 while all rows pass over them.
    const int chunks = t->dp / 16, pairs = panels * KEYS / 2;
    for (int j = 0; j < chunks; j += 2)
        for (int g = 0; g < t->rows; g += MR)
            values_tile(t->weights + (size_t)g * VK_ATTN_NT, t->v + (size_t)j * t->v_chunk, t->v_chunk, pairs, t->dp,
                        t->acc + (size_t)g * t->dp + 16 * j, chunks - j < 2 ? 1 : 2);
}

/// q rows of a block → bf16, the head dims zero-padded to whole pairs.
AVX512BF16 static void round_queries(const float *q, size_t stride, int rows, int d, int pairs, uint16_t *out) {
    for (int r = 0; r < rows; r++) {
        const float *x = q + (size_t)r * stride;
        uint16_t *y = out + (size_t)r * pairs * 2;
        int j = 0;
        for (; j + 32 <= d; j += 32)
            _mm512_storeu_si512(y + j, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + j + 16), _mm512_loadu_ps(x + j)));
        for (; j < d; j++) y[j] = vk_f32_to_bf16(x[j]);
        if (d % 2) y[d] = 0;
    }
}

static int query_blocks(const vk_attention *a) { return (a->nq + VK_ATTN_MQ - 1) / VK_ATTN_MQ; }

/// Which keys of a batch the mask keeps (all without a mask).
static int kept_keys(const vk_attention *a, int batch) {
    if (!a->mask) return a->nk;
    int kept = 0;
    for (int key = 0; key < a->nk; key++) kept += a->mask[(size_t)batch * a->nk + key] != 0;
    return kept;
}

AVX512BF16 void vk_attention_bf16_run(const vk_attention *a, const uint16_t *packed, int i0, int i1, void *scratch) {
    if (!valid(a)) return;
    const int d = a->d, pairs = dim_pairs(a), dp = dims_padded(a), blocks = query_blocks(a);
    const size_t width = (size_t)a->heads * d;
    uintptr_t at = ((uintptr_t)scratch + 63) & ~(uintptr_t)63;
    uint16_t *q16 = (uint16_t *)at;
    at = (at + (size_t)VK_ATTN_MQ * pairs * 2 * sizeof(uint16_t) + 63) & ~(uintptr_t)63;
    uint16_t *weights = (uint16_t *)at;
    at = (at + (size_t)VK_ATTN_MQ * VK_ATTN_NT * sizeof(uint16_t) + 63) & ~(uintptr_t)63;
    tile_bf16 t = {.q = q16, .pairs = pairs, .dp = dp, .v_chunk = (size_t)keys_padded(a) * 16, .scale = a->scale,
                   .scores = (float *)at, .weights = weights};
    t.acc = t.scores + (size_t)VK_ATTN_MQ * VK_ATTN_NT;
    t.row_max = t.acc + (size_t)VK_ATTN_MQ * dp;
    t.row_sum = t.row_max + VK_ATTN_MQ;
    // Whole groups of 8 rows run even for a block's last rows: its scratch rows start as zeros.
    memset(q16, 0, (size_t)VK_ATTN_MQ * pairs * 2 * sizeof(uint16_t));
    memset(weights, 0, (size_t)VK_ATTN_MQ * VK_ATTN_NT * sizeof(uint16_t));
    memset(t.acc, 0, (size_t)VK_ATTN_MQ * dp * sizeof(float));
    for (int item = i0; item < i1; item++) {
        const int batch = item / (a->heads * blocks), head = item / blocks % a->heads, block = item % blocks;
        const int q0 = block * VK_ATTN_MQ, kept = kept_keys(a, batch);
        t.rows = a->nq - q0 < VK_ATTN_MQ ? a->nq - q0 : VK_ATTN_MQ;
        round_queries(a->q + ((size_t)batch * a->nq + q0) * width + (size_t)head * d, width, t.rows, d, pairs, q16);
        memset(t.acc, 0, (size_t)round_up(t.rows, MR) * dp * sizeof(float));
        for (int r = 0; r < t.rows; r++) t.row_max[r] = -INFINITY, t.row_sum[r] = 0;
        const uint16_t *kt = packed + (size_t)(batch * a->heads + head) * packed_pair(a), *v = kt + packed_keys(a);
        for (int k0 = 0; k0 < kept; k0 += VK_ATTN_NT) {
            t.kt = kt + (size_t)k0 * pairs * 2;  // k0 is a whole number of 32-key panels
            t.v = v + (size_t)(k0 / 2) * 32;
            t.cols = kept - k0 < VK_ATTN_NT ? kept - k0 : VK_ATTN_NT;
            tile_step(&t);
        }
        for (int r = 0; r < t.rows; r++) {
            const float inverse = t.row_sum[r] > 0 ? 1.0f / t.row_sum[r] : 0.0f;
            float *out = a->out + ((size_t)batch * a->nq + q0 + r) * width + (size_t)head * d;
            const float *acc = t.acc + (size_t)r * dp;
            for (int j = 0; j < d; j++) out[j] = acc[j] * inverse;
        }
    }
}
#else
void vk_attention_bf16_run(const vk_attention *a, const uint16_t *packed, int i0, int i1, void *scratch) {
    (void)a, (void)packed, (void)i0, (void)i1, (void)scratch;  // never called: vk_attention_bf16_available is 0
}
#endif
