// Direct stride-1 conv3d (implicit GEMM, no column matrix): per work item (a band of 2–8 output rows
// × a group of output channels), the input rows each output row reads are copied for a block of input
// channels into a small padded panel (zeros at the borders, so the microkernel has no bounds tests),
// and register tiles of 16 output channels × 6 consecutive output pixels accumulate over
// (channel, dt, dy, dx): per k step 2 weight loads, 6 broadcasts of input samples, 12 FMAs into 12
// ymm accumulators (AVX2; with AVX-512, conv3d_avx512.c's 32 × 8 zmm tiles). The tiles accumulate in a per-row buffer in tile order across channel blocks
// and are transposed into the [O][T'][H'][W'] output once, with the bias, at the end.
#include <string.h>
#include "conv3d_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static int round_up(int v, int to) { return (v + to - 1) / to * to; }

int vk_conv3d_plan(vk_conv3d *p, int max_level) {
    if (p->c <= 0 || p->t <= 0 || p->h <= 0 || p->w <= 0 || p->o <= 0 || p->kt <= 0 || p->kh <= 0 || p->kw <= 0) return -1;
    if (p->t_out <= 0 || p->h_out <= 0 || p->w_out <= 0) return -1;
    if (p->h_out != p->h + 2 * p->pad_h - p->kh + 1 || p->w_out != p->w + 2 * p->pad_w - p->kw + 1) return -1;
    p->level = vk_vector_level(max_level);
    // Tiles of a row's consecutive output pixels (a row's last tile may be narrower) × a block of output
    // channels: with AVX2, 16 channels × 6 pixels (24 × 4, with fewer broadcasts per FMA, needs a
    // weight vector as FMA memory operand for want of a 17th register and ran at ~80% of the 16 × 6
    // tile's speed); with AVX-512, 32 channels × 8 pixels in zmm (conv3d_avx512.c): twice the lanes
    // per FMA, which CPUs with two 512-bit FMA ports turn into twice the rate.
    const uint32_t avx512 = vk_cpu_avx512f | vk_cpu_fma;
    // (16 output channels or fewer, an RGB head's taps, fill more of the 16-channel tile.)
    if (max_level >= vk_level_avx512 && p->level == vk_level_avx2 && p->o > 16 && (vk_cpu_features() & avx512) == avx512) {
        p->level = vk_level_avx512;
        p->ob = 32, p->px = 8;
    } else {
        p->ob = 16, p->px = 6;
    }
    // Channel block: a weight block of ~27 KiB per pass over a tile, in L1 (16 channels of a 3×3×3
    // kernel at 16 lanes, 8 at 32), and the input panel of the block ≤ 32 K floats (128 KiB, in L2)
    // for wide rows.
    const int taps = p->kt * p->kh * p->kw;
    const int wp = p->w_out + p->kw - 1;
    int icb = 6912 / (taps * p->ob);
    const int panel_limit = 32768 / (p->kt * p->kh * wp);
    if (icb > panel_limit) icb = panel_limit;
    if (icb < 1) icb = 1;
    if (icb > p->c) icb = p->c;
    p->icb = icb;
    // Rows per item: each weight block (27 KiB) is swept over the tiles of all the item's rows while
    // it sits in L1, so narrow rows need more of them — about 64 tile passes per block load (2 rows at
    // 832 pixels, 4 at 96, 8 at 48 or fewer; measured single-threaded at the LTX-Video decoder's
    // shapes: 512 channels at 8×12 run at 49 GFLOP/s with 2 rows, 61–69 with 8).
    const int blocks = round_up(p->o, p->ob) / p->ob, rows = p->t_out * p->h_out;
    const int tiles = (p->w_out + p->px - 1) / p->px;
    int band = (64 + tiles - 1) / tiles;
    if (band > 8) band = 8;
    if (band < 2) band = 2;
    if (band > rows) band = rows;
    p->band = band;
    // Output-channel groups: for the bands of narrow rows as many as keep the item's accumulators
    // within 256 KiB of L2 (wide rows keep all channels in one item: 2-row items of the Wan VAE's
    // 416-pixel rows ran 10% slower split in two), and more when the rows alone give too few items
    // for the threads (small frames of many channels: ≥ 4 items per thread, each group still ≥
    // 64 channels, so that the input panels, packed once per group, stay a small part of its work).
    const size_t acc_block = (size_t)band * p->ob * p->w_out * sizeof(float);
    const int fit = (int)((256u << 10) / acc_block) > 1 ? (int)((256u << 10) / acc_block) : 1;
    const int workers = p->workers > 0 ? p->workers : 1, row_items = (rows + band - 1) / band;
    int groups = band > 2 ? (blocks + fit - 1) / fit : 1;
    while (row_items * groups < 4 * workers && blocks / (groups + 1) >= 64 / p->ob) groups++;
    p->group_blocks = (blocks + groups - 1) / groups;
    p->groups = (blocks + p->group_blocks - 1) / p->group_blocks;
    return 0;
}

size_t vk_conv3d_packed_floats(const vk_conv3d *p) {
    return (size_t)round_up(p->o, p->ob) * (size_t)p->c * (size_t)(p->kt * p->kh * p->kw);
}

/// packed[block][c][tap][lane] = w[block·ob + lane][c][tap], 0 past O; w read in order.
static void pack(const vk_conv3d *p, const void *w, int kind, float *packed) {
    const int taps = p->kt * p->kh * p->kw, ob = p->ob, blocks = round_up(p->o, ob) / ob;
    const size_t row = (size_t)p->c * taps;  // one output channel's weights
    for (int oc = 0; oc < blocks * ob; oc++) {
        float *dst = packed + (size_t)(oc / ob) * row * ob + oc % ob;
        for (size_t i = 0; i < row; i++) {
            float v = 0.0f;
            if (oc < p->o) {
                const size_t at = (size_t)oc * row + i;
                if (kind == 0) {
                    v = ((const float *)w)[at];
                } else if (kind == 1) {
                    v = vk_f16_to_f32(((const uint16_t *)w)[at]);
                } else {
                    const uint32_t bits = (uint32_t)((const uint16_t *)w)[at] << 16;
                    memcpy(&v, &bits, 4);
                }
            }
            dst[i * ob] = v;
        }
    }
}

void vk_conv3d_pack(const vk_conv3d *p, const float *w, float *packed) { pack(p, w, 0, packed); }
void vk_conv3d_pack_16(const vk_conv3d *p, const uint16_t *w, int bf16, float *packed) { pack(p, w, bf16 ? 2 : 1, packed); }

int vk_conv3d_items(const vk_conv3d *p) { return (p->t_out * p->h_out + p->band - 1) / p->band * p->groups; }

/// Per-row scratch (an item has `band` of each): the input panel [icb][kt][kh][wp] and the
/// accumulators of the item's group [group_blocks][W'][ob].
static void scratch_layout(const vk_conv3d *p, size_t *panel_floats, size_t *acc_floats) {
    const int wp = p->w_out + p->kw - 1;
    *panel_floats = (size_t)round_up(p->icb * p->kt * p->kh * wp, 16);
    *acc_floats = (size_t)p->group_blocks * p->ob * (size_t)p->w_out;
}

size_t vk_conv3d_scratch_floats(const vk_conv3d *p) {
    size_t panel, acc;
    scratch_layout(p, &panel, &acc);
    return (size_t)p->band * (panel + acc);
}

void vk_conv3d_input_row(const vk_conv3d *p, int c, int frame, int y, int n, float *out) {
    if (!p->frames) {
        memcpy(out, p->x + (((size_t)c * p->t + frame) * p->h + y) * p->w, sizeof(float) * (size_t)n);
        return;
    }
    const vk_conv3d_frame *f = p->frames + frame;
    const size_t at = (size_t)c * f->channel_stride + (size_t)y * p->w;
    if (f->half) vk_f16_to_f32_n((const uint16_t *)f->data + at, out, (size_t)n);
    else memcpy(out, (const float *)f->data + at, sizeof(float) * (size_t)n);
}

/// The panel of channels [c0, c0 + n) for output frame f, row y: panel[c][dt][dy][xp] = the padded
/// input at channel c0 + c, padded frame f + dt, row y + dy − pad_h, column xp − pad_w.
static void pack_panel(const vk_conv3d *p, int f, int y, int c0, int n, int wp, float *panel) {
    for (int c = 0; c < n; c++)
        for (int dt = 0; dt < p->kt; dt++) {
            int frame = f + dt - p->pad_before;
            if (p->replicate) frame = frame < 0 ? 0 : frame >= p->t ? p->t - 1 : frame;
            for (int dy = 0; dy < p->kh; dy++) {
                float *row = panel + ((size_t)(c * p->kt + dt) * p->kh + dy) * wp;
                const int sy = y + dy - p->pad_h;
                if (frame < 0 || frame >= p->t || sy < 0 || sy >= p->h) {
                    memset(row, 0, sizeof(float) * (size_t)wp);
                    continue;
                }
                // Column xp reads input x = xp − pad_w: valid for xp in [pad_w, pad_w + W) ∩ [0, wp).
                int x1 = p->pad_w + p->w;
                if (x1 > wp) x1 = wp;
                memset(row, 0, sizeof(float) * (size_t)p->pad_w);
                vk_conv3d_input_row(p, c0 + c, frame, sy, x1 - p->pad_w, row + p->pad_w);
                if (x1 < wp) memset(row + x1, 0, sizeof(float) * (size_t)(wp - x1));
            }
        }
}

// Portable tile (the compiler vectorises the lane loop): ob = 16 channels × px ≤ 6 pixels.
static void tile_portable(const vk_conv3d_tile_args *a, int ob, int px) {
    float acc[6][16];
    for (int j = 0; j < px; j++)
        for (int l = 0; l < ob; l++) acc[j][l] = a->first ? 0.0f : a->acc[j * ob + l];
    const float *w = a->w;
    for (int c = 0; c < a->n; c++)
        for (int dt = 0; dt < a->kt; dt++)
            for (int dy = 0; dy < a->kh; dy++) {
                const float *row = a->in + ((size_t)(c * a->kt + dt) * a->kh + dy) * a->wp;
                for (int dx = 0; dx < a->kw; dx++, w += ob)
                    for (int j = 0; j < px; j++) {
                        const float v = row[dx + j];
                        for (int l = 0; l < ob; l++) acc[j][l] += v * w[l];
                    }
            }
    for (int j = 0; j < px; j++)
        for (int l = 0; l < ob; l++) a->acc[j * ob + l] = acc[j][l];
}

#if defined(__x86_64__)
#define CONV_AVX2 __attribute__((target("avx2,fma")))
// 2 ymm of channels × PX ≤ 6 pixels: up to 12 accumulators, 2 weight vectors and one broadcast live.
// KW > 0 fixes the kernel width at compile time (3: the loop over dx unrolled), 0 reads it.
static inline __attribute__((always_inline)) CONV_AVX2 void tile_avx2(const vk_conv3d_tile_args *a, const int PX, const int KW) {
    __m256 acc[6][2];
    for (int j = 0; j < PX; j++)
        for (int v = 0; v < 2; v++)
            acc[j][v] = a->first ? _mm256_setzero_ps() : _mm256_loadu_ps(a->acc + j * 16 + v * 8);
    const float *w = a->w;
    const size_t wp = (size_t)a->wp;
    const int rows = a->n * a->kt * a->kh, kw = KW > 0 ? KW : a->kw;
    const float *row = a->in;
    for (int r = 0; r < rows; r++, row += wp) {
        for (int dx = 0; dx < kw; dx++, w += 16) {
            const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
            for (int j = 0; j < PX; j++) {
                __m256 x;
                // An opaque load: with the dx loop unrolled the compiler would otherwise keep each
                // sample's broadcast for the next dx, out of registers (spills).
                if (KW > 0) __asm__("vbroadcastss %1, %0" : "=x"(x) : "m"(row[dx + j]));
                else x = _mm256_broadcast_ss(row + dx + j);
                acc[j][0] = _mm256_fmadd_ps(x, w0, acc[j][0]);
                acc[j][1] = _mm256_fmadd_ps(x, w1, acc[j][1]);
            }
        }
    }
    for (int j = 0; j < PX; j++)
        for (int v = 0; v < 2; v++) _mm256_storeu_ps(a->acc + j * 16 + v * 8, acc[j][v]);
}
#define TILE_AVX2(px)                                                                              \
    CONV_AVX2 static void tile##px##_avx2(const vk_conv3d_tile_args *a) {                                     \
        if (a->kw == 3) tile_avx2(a, px, 3);                                                        \
        else tile_avx2(a, px, 0);                                                                   \
    }
TILE_AVX2(1)
TILE_AVX2(2)
TILE_AVX2(3)
TILE_AVX2(4)
TILE_AVX2(5)
TILE_AVX2(6)
static void (*const tiles_avx2[7])(const vk_conv3d_tile_args *) = {NULL, tile1_avx2, tile2_avx2, tile3_avx2, tile4_avx2, tile5_avx2, tile6_avx2};
#endif

void vk_conv3d_run(const vk_conv3d *p, int i0, int i1, float *scratch) {
    const int ob = p->ob, taps = p->kt * p->kh * p->kw, rows = p->t_out * p->h_out;
    const int wp = p->w_out + p->kw - 1, blocks = round_up(p->o, ob) / ob;
    size_t panel_floats, acc_floats;
    scratch_layout(p, &panel_floats, &acc_floats);
    float *panels = scratch, *accs = scratch + (size_t)p->band * panel_floats;
    for (int item = i0; item < i1; item++) {
        // Rows (output frame · H' + output row) [r0, r0 + nr), output-channel blocks [b0, b1). The groups
        // of one band are consecutive items, so threads running them at once share its input rows.
        const int r0 = item / p->groups * p->band, nr = rows - r0 < p->band ? rows - r0 : p->band;
        const int b0 = item % p->groups * p->group_blocks, b1 = b0 + p->group_blocks < blocks ? b0 + p->group_blocks : blocks;
        for (int c0 = 0; c0 < p->c; c0 += p->icb) {
            const int n = p->c - c0 < p->icb ? p->c - c0 : p->icb;
            for (int r = 0; r < nr; r++)
                pack_panel(p, (r0 + r) / p->h_out, (r0 + r) % p->h_out, c0, n, wp, panels + r * panel_floats);
            vk_conv3d_tile_args a = {.n = n, .kt = p->kt, .kh = p->kh, .kw = p->kw, .wp = wp, .first = c0 == 0};
            for (int b = b0; b < b1; b++) {
                a.w = p->weights + ((size_t)b * p->c + c0) * taps * ob;
                for (int r = 0; r < nr; r++)
                    for (int x0 = 0; x0 < p->w_out; x0 += p->px) {
                        const int px = p->w_out - x0 < p->px ? p->w_out - x0 : p->px;
                        a.in = panels + r * panel_floats + x0;
                        a.acc = accs + r * acc_floats + ((size_t)(b - b0) * p->w_out + x0) * ob;
#if defined(__x86_64__)
                        if (p->level >= vk_level_avx512) {
                            vk_conv3d_tile_avx512(&a, px);
                            continue;
                        }
                        if (p->level >= vk_level_avx2) {
                            tiles_avx2[px](&a);
                            continue;
                        }
#endif
                        tile_portable(&a, ob, px);
                    }
            }
        }
        vk_conv3d_write_rows(p, accs, acc_floats, r0, nr, b0, b1);
    }
}

// acc[block][x][lane] → y[oc][f][y][x] (+ bias), lane < ob.
void vk_conv3d_write_rows(const vk_conv3d *p, const float *accs, size_t acc_floats, int r0, int nr, int b0, int b1) {
    const int ob = p->ob;
    const size_t plane = (size_t)p->h_out * p->w_out;
    for (int r = 0; r < nr; r++) {
        const int f = (r0 + r) / p->h_out, y = (r0 + r) % p->h_out;
        const float *acc = accs + r * acc_floats;
        const int oc1 = b1 * ob < p->o ? b1 * ob : p->o;
        for (int oc = b0 * ob; oc < oc1; oc++) {
            const float *src = acc + (size_t)(oc / ob - b0) * p->w_out * ob + oc % ob;
            float *dst = p->y + ((size_t)oc * p->t_out + f) * plane + (size_t)y * p->w_out;
            const float bias = p->bias ? p->bias[oc] : 0.0f;
            for (int x = 0; x < p->w_out; x++) dst[x] = src[(size_t)x * ob] + bias;
        }
    }
}
