// The direct stride-1 conv3d with bf16 operands (AVX-512 BF16), for convolutions whose weights are stored
// in bf16: conv3d.c's work split (bands of output rows × groups of output channels, input panels per
// channel block, accumulators in tile order transposed into the output once), with `vdpbf16ps` register
// tiles of 32 output channels × 8 pixels (16 zmm accumulators; per step 2 weight loads and 8 broadcasts).
// vdpbf16ps sums two products per f32 lane, so both operands are paired over input channels: the panel
// holds channels (2i, 2i + 1) side by side at each position, the packed weights the same two channels'
// taps for each of 32 output channels. Sums are f32; the input is rounded to bf16 once, in the panel.
#include <string.h>
#include "conv3d_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

enum { OB = 32, PX = 8 };

static int round_up(int v, int to) { return (v + to - 1) / to * to; }
static int taps_of(const vk_conv3d *p) { return p->kt * p->kh * p->kw; }
static int pairs_of(const vk_conv3d *p) { return (p->c + 1) / 2; }

int vk_conv3d_bf16_plan(vk_conv3d *p) {
    const uint32_t need = vk_cpu_avx512f | vk_cpu_avx512bw | vk_cpu_avx512bf16;
#if defined(__x86_64__)
    if ((vk_cpu_features() & need) != need) return -1;
#else
    (void)need;
    return -1;
#endif
    if (vk_conv3d_plan(p, vk_level_avx2) != 0) return -1;  // sizes checked, band and groups as a start
    p->level = vk_level_avx512;
    p->ob = OB, p->px = PX;
    // Channel block (even): the weight block of one pass over a tile, icb · taps · 32 · 2 bytes, ~28 KiB in
    // L1 (16 channels of a 3×3×3 kernel), and the block's panel ≤ 128 KiB for wide rows.
    const int taps = taps_of(p), wp = p->w_out + p->kw - 1;
    int icb = 28672 / (taps * OB * 2) / 2 * 2;
    const int panel_limit = 65536 / (p->kt * p->kh * wp) / 2 * 2;
    if (icb > panel_limit) icb = panel_limit;
    if (icb > round_up(p->c, 2)) icb = round_up(p->c, 2);
    p->icb = icb < 2 ? 2 : icb;
    // Output-channel groups of 32-channel blocks, re-derived from conv3d.c's rule for the wider blocks.
    const int blocks = round_up(p->o, OB) / OB, rows = p->t_out * p->h_out;
    const size_t acc_block = (size_t)p->band * OB * p->w_out * sizeof(float);
    const int fit = (int)((256u << 10) / acc_block) > 1 ? (int)((256u << 10) / acc_block) : 1;
    const int workers = p->workers > 0 ? p->workers : 1, row_items = (rows + p->band - 1) / p->band;
    int groups = p->band > 2 ? (blocks + fit - 1) / fit : 1;
    while (row_items * groups < 4 * workers && blocks / (groups + 1) >= 2) groups++;
    p->group_blocks = (blocks + groups - 1) / groups;
    p->groups = (blocks + p->group_blocks - 1) / p->group_blocks;
    return 0;
}

size_t vk_conv3d_bf16_packed_halves(const vk_conv3d *p) {
    return (size_t)round_up(p->o, OB) * (size_t)pairs_of(p) * 2 * (size_t)taps_of(p);
}

/// packed[block][pair][tap][lane][2] = w[block·32 + lane][2·pair + {0, 1}][tap] (bf16 bits), 0 past O and C.
void vk_conv3d_bf16_pack(const vk_conv3d *p, const uint16_t *w, uint16_t *packed) {
    const int taps = taps_of(p), pairs = pairs_of(p);
    memset(packed, 0, vk_conv3d_bf16_packed_halves(p) * sizeof(uint16_t));
    for (int oc = 0; oc < p->o; oc++)
        for (int c = 0; c < p->c; c++)
            for (int tap = 0; tap < taps; tap++) {
                const size_t at = (((size_t)(oc / OB) * pairs + c / 2) * taps + tap) * OB * 2 + (size_t)(oc % OB) * 2 + c % 2;
                packed[at] = w[((size_t)oc * p->c + c) * taps + tap];
            }
}

/// Scratch per row of a band: the panel [icb/2][kT][kH][wp] of channel pairs (32-bit words) and the
/// accumulators [group_blocks][W'][32] (floats).
static void scratch_layout(const vk_conv3d *p, size_t *panel_words, size_t *acc_floats) {
    const int wp = p->w_out + p->kw - 1;
    *panel_words = (size_t)round_up(p->icb / 2 * p->kt * p->kh * wp + 16, 16);  // + 16: the last tile's reads
    *acc_floats = (size_t)p->group_blocks * OB * (size_t)p->w_out;
}

size_t vk_conv3d_bf16_scratch_bytes(const vk_conv3d *p) {
    size_t panel, acc;
    scratch_layout(p, &panel, &acc);
    return ((size_t)p->band * (panel + acc) + 2 * (size_t)p->w) * 4 + 64;
}

#if defined(__x86_64__)
/// Columns [0, n) of two f32 rows (b may be NULL: a zero channel) as bf16 pairs a0 b0 a1 b1 …
AVX512BF16 static void pair_rows(const float *a, const float *b, int n, uint32_t *out) {
    int x = 0;
    for (; x < n; x += 16) {
        const __mmask16 m = (__mmask16)(n - x >= 16 ? 0xffff : (1u << (n - x)) - 1);
        const __m256i u = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, a + x));
        const __m256i v = b ? (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, b + x)) : _mm256_setzero_si256();
        const __m256i lo = _mm256_unpacklo_epi16(u, v), hi = _mm256_unpackhi_epi16(u, v);  // within 128-bit lanes
        const __m512i words = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(lo, hi, 0x20)),
                                                 _mm256_permute2x128_si256(lo, hi, 0x31), 1);
        _mm512_mask_storeu_epi32(out + x, m, words);
    }
}

/// The panel of channel pairs [c0/2, c0/2 + n/2) for output frame f, row y (conv3d.c's pack_panel, in pairs);
/// `wide`: 2·W floats of scratch for rows read through a frame table.
AVX512BF16 static void pack_panel(const vk_conv3d *p, int f, int y, int c0, int n, int wp, uint32_t *panel, float *wide) {
    for (int i = 0; i < n / 2; i++)
        for (int dt = 0; dt < p->kt; dt++) {
            int frame = f + dt - p->pad_before;
            if (p->replicate) frame = frame < 0 ? 0 : frame >= p->t ? p->t - 1 : frame;
            for (int dy = 0; dy < p->kh; dy++) {
                uint32_t *row = panel + ((size_t)(i * p->kt + dt) * p->kh + dy) * wp;
                const int sy = y + dy - p->pad_h, c = c0 + 2 * i;
                if (frame < 0 || frame >= p->t || sy < 0 || sy >= p->h || c >= p->c) {
                    memset(row, 0, sizeof(uint32_t) * (size_t)wp);
                    continue;
                }
                int x1 = p->pad_w + p->w;
                if (x1 > wp) x1 = wp;
                const int n_x = x1 - p->pad_w;
                const float *a, *b = NULL;
                if (!p->frames) {
                    const size_t plane = (size_t)p->t * p->h * p->w, at = ((size_t)frame * p->h + sy) * p->w;
                    a = p->x + (size_t)c * plane + at;
                    if (c + 1 < p->c) b = p->x + (size_t)(c + 1) * plane + at;
                } else {  // a frame table (cached frames, maybe f16): the two rows widened first
                    vk_conv3d_input_row(p, c, frame, sy, n_x, wide);
                    if (c + 1 < p->c) vk_conv3d_input_row(p, c + 1, frame, sy, n_x, wide + p->w), b = wide + p->w;
                    a = wide;
                }
                memset(row, 0, sizeof(uint32_t) * (size_t)p->pad_w);
                pair_rows(a, b, n_x, row + p->pad_w);
                if (x1 < wp) memset(row + x1, 0, sizeof(uint32_t) * (size_t)(wp - x1));
            }
        }
}

typedef struct {
    const uint32_t *in;  // panel at the tile's first column
    const uint16_t *w;   // weight block: [pairs][taps][32][2]
    float *acc;          // [px][32]
    int rows, kw, wp, first;
} tile_args;

/// 32 output channels × PX pixels; KW > 0 fixes the kernel width (3: the dx loop unrolled).
static inline __attribute__((always_inline)) AVX512BF16 void tile(const tile_args *a, const int px, const int KW) {
    __m512 acc[PX][2];
    for (int j = 0; j < px; j++)
        for (int v = 0; v < 2; v++) acc[j][v] = a->first ? _mm512_setzero_ps() : _mm512_loadu_ps(a->acc + j * OB + v * 16);
    const uint16_t *w = a->w;
    const int kw = KW > 0 ? KW : a->kw;
    const uint32_t *row = a->in;
    for (int r = 0; r < a->rows; r++, row += a->wp)
        for (int dx = 0; dx < kw; dx++, w += OB * 2) {
            const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w), w1 = (__m512bh)_mm512_loadu_si512(w + 32);
            for (int j = 0; j < px; j++) {
                const __m512bh x = (__m512bh)_mm512_set1_epi32((int)row[dx + j]);
                acc[j][0] = _mm512_dpbf16_ps(acc[j][0], x, w0);
                acc[j][1] = _mm512_dpbf16_ps(acc[j][1], x, w1);
            }
        }
    for (int j = 0; j < px; j++)
        for (int v = 0; v < 2; v++) _mm512_storeu_ps(a->acc + j * OB + v * 16, acc[j][v]);
}
#define TILE(n)                                                                                   \
    AVX512BF16 static void tile##n(const tile_args *a) {                                          \
        if (a->kw == 3) tile(a, n, 3);                                                            \
        else tile(a, n, 0);                                                                       \
    }
VK_CONV3D_WIDTHS_8(TILE)
static void (*const tiles[PX + 1])(const tile_args *) = {NULL, VK_CONV3D_WIDTHS_8(VK_CONV3D_TILE_ENTRY)};

AVX512BF16 void vk_conv3d_bf16_run(const vk_conv3d *p, int i0, int i1, void *scratch) {
    const int taps = taps_of(p), pairs = pairs_of(p), rows = p->t_out * p->h_out;
    const int wp = p->w_out + p->kw - 1, blocks = round_up(p->o, OB) / OB;
    size_t panel_words, acc_floats;
    scratch_layout(p, &panel_words, &acc_floats);
    uint32_t *panels = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *accs = (float *)(panels + (size_t)p->band * panel_words);
    float *wide = accs + (size_t)p->band * acc_floats;  // 2·W floats
    for (int item = i0; item < i1; item++) {
        const int r0 = item / p->groups * p->band, nr = rows - r0 < p->band ? rows - r0 : p->band;
        const int b0 = item % p->groups * p->group_blocks, b1 = b0 + p->group_blocks < blocks ? b0 + p->group_blocks : blocks;
        for (int c0 = 0; c0 < p->c; c0 += p->icb) {
            const int n = round_up(p->c - c0 < p->icb ? p->c - c0 : p->icb, 2);
            for (int r = 0; r < nr; r++)
                pack_panel(p, (r0 + r) / p->h_out, (r0 + r) % p->h_out, c0, n, wp, panels + r * panel_words, wide);
            tile_args a = {.rows = n / 2 * p->kt * p->kh, .kw = p->kw, .wp = wp, .first = c0 == 0};
            for (int b = b0; b < b1; b++) {
                a.w = p->weights16 + ((size_t)b * pairs + c0 / 2) * taps * OB * 2;
                for (int r = 0; r < nr; r++)
                    for (int x0 = 0; x0 < p->w_out; x0 += PX) {
                        const int px = p->w_out - x0 < PX ? p->w_out - x0 : PX;
                        a.in = panels + r * panel_words + x0;
                        a.acc = accs + r * acc_floats + ((size_t)(b - b0) * p->w_out + x0) * OB;
                        tiles[px](&a);
                    }
            }
        }
        vk_conv3d_write_rows(p, accs, acc_floats, r0, nr, b0, b1);
    }
}
#else
void vk_conv3d_bf16_run(const vk_conv3d *p, int i0, int i1, void *scratch) {
    (void)p, (void)i0, (void)i1, (void)scratch;  // never called: vk_conv3d_bf16_plan fails off x86
}
#endif
