#ifndef VACEKIT_CKERNELS_H
#define VACEKIT_CKERNELS_H
// CPU kernels that need the CPU's own instructions (AVX-512 BF16/VNNI, AVX2), each with a portable
// fallback chosen at run time. Swift calls them through CPUBackend.
#include <stdint.h>
#include <stddef.h>

/// Bit set of the instruction-set features the running CPU has (see vk_cpu_* constants).
uint32_t vk_cpu_features(void);
enum {
    vk_cpu_avx2 = 1u << 0,
    vk_cpu_fma = 1u << 1,
    vk_cpu_f16c = 1u << 2,
    vk_cpu_avx512f = 1u << 3,
    vk_cpu_avx512bw = 1u << 4,
    vk_cpu_avx512vnni = 1u << 5,
    vk_cpu_avx512bf16 = 1u << 6,
};

// MARK: - GEMM for stored weights: y[M, N] = x[M, K] · Wᵀ (+ bias), W as the .vkq file stores it.
//
// Flow of one call (CPUBackend.QuantizedMatmul drives it on all cores):
//   plan = vk_gemm_plan_make(&w, mode, max_level)        once per weight and mode
//   vk_gemm_prepare(&plan, x, rows…)                      activations → int8 / bf16, split by rows
//   vk_gemm_columns(&plan, &w, x, act, …, n0, n1, scratch) output columns [n0, n1), split by columns
// No weight repacking at load: each thread packs 4 KC × NR blocks of W (tens of KiB; W8A8 on AVX-512
// takes whole rows, KC = K, up to ~1 MiB) into the layout its microkernel wants, right before the
// microkernel sweeps all M rows over them.

/// Instruction-set levels, lowest first. A plan uses the highest one ≤ the cap that the CPU has.
enum {
    vk_level_portable = 0,  // plain C
    vk_level_avx2 = 1,      // AVX2 + FMA + F16C
    vk_level_avx512 = 2,    // AVX-512 F/BW/VL + VNNI (W8A8) or + BF16 (W8A16, bf16 weights)
};

/// The level cap from the environment: VACEKIT_CPU_KERNELS = portable | avx2 | avx512 | auto
/// (unset or anything else: auto = the highest the CPU has).
int vk_kernel_level_from_env(void);

/// Element types of stored weights.
enum {
    vk_weight_q8 = 0,    // int8 [n][k] + f16 scales [n][k / group]
    vk_weight_bf16 = 1,  // bf16 bit patterns [n][k]
    vk_weight_f16 = 2,   // f16 bit patterns [n][k]
};

/// A weight matrix in the .vkq layout, used in place (e.g. from the mmap).
typedef struct {
    int32_t kind;             // vk_weight_*
    int32_t n, k;             // rows = output features, columns = input features
    int32_t group;            // q8: input elements per scale; 0 or k = one scale per row
    const void *data;         // int8 or 16-bit values, row-major [n][k]
    const uint16_t *scales;   // q8: f16 [n][k / group]; NULL otherwise
} vk_weight;

/// How activations meet q8 weights.
enum {
    vk_mode_w8a8 = 0,   // x quantized per row to int8 (dynamic, symmetric); int32 dot products per group
    vk_mode_w8a16 = 1,  // x kept at 16 bits: bf16 (AVX512_BF16), int16 per row (AVX2), f32 (portable)
};

/// Kernels: what the microkernel multiplies.
enum {
    vk_kernel_f32 = 0,    // f32 panel (weights dequantized at pack time), f32 activations
    vk_kernel_i8 = 1,     // int8 (W8A8) or int16 (W8A16 on AVX2) activations × int8 weights, int32 per group
    vk_kernel_bf16 = 2,   // bf16 activations × bf16-exact weights (int8 values or bf16), f32 per group
};

/// What a call needs: which kernel, its tile, and the layout of the prepared activations.
typedef struct {
    int32_t level;        // vk_level_* actually used
    int32_t kernel;       // vk_kernel_*
    int32_t mode;         // vk_mode_* (q8 only)
    int32_t mr, nr;       // microkernel tile: rows of x × output columns
    int32_t kc;           // k per packed block
    int32_t k_align;      // k granularity of the microkernel (1, 2 or 4)
    int32_t act_bytes;    // bytes per prepared activation element, 0 = the microkernel reads x itself
    int32_t act_stride;   // prepared elements per row (k rounded up to k_align)
    int32_t group;        // effective group (k when one scale per row; 0 for bf16/f16 weights)
    int32_t act_levels;   // vk_kernel_i8: activations quantized to ±act_levels (127: int8, 32767: int16)
} vk_gemm_plan;

/// Chooses the kernel for a weight and mode under a level cap. Returns 0, or -1 for an invalid weight
/// (unknown kind, non-positive sizes, group that does not divide k, q8 without scales).
int vk_gemm_plan_make(const vk_weight *w, int mode, int max_level, vk_gemm_plan *plan);

/// Bytes of prepared activations for m rows (0 when the kernel reads x directly).
size_t vk_gemm_act_bytes(const vk_gemm_plan *plan, int m);
/// Bytes of one thread's packing scratch (the packed weight block and its scales); 64-byte aligned use.
size_t vk_gemm_scratch_bytes(const vk_gemm_plan *plan);

/// Prepares rows [m0, m1) of x [.., k] into `act` (layout per plan) and `row_scales` (W8A8: the per-row
/// activation scale; unused otherwise). Rows are independent: split them across threads.
void vk_gemm_prepare(const vk_gemm_plan *plan, const float *x, int k, int m0, int m1,
                     void *act, float *row_scales);

/// y[0..m, n0..n1) = x · Wᵀ (+ bias), ldc = w->n. n0 should be a multiple of plan->nr (any n1).
/// Column ranges are independent: split them across threads, each with its own scratch.
void vk_gemm_columns(const vk_gemm_plan *plan, const vk_weight *w, const float *x, const void *act,
                     const float *row_scales, int m, const float *bias, float *y, int n0, int n1,
                     void *scratch);

/// Atomically returns *counter and adds 1 (work sharing: threads claim chunks until it passes the count).
int32_t vk_claim_next(int32_t *counter);

// MARK: - Number conversions (shared with tests)

/// f16 bits → f32.
float vk_f16_to_f32(uint16_t h);
/// f32 → bf16 bits, round to nearest even (the rounding the bf16 path applies to activations).
uint16_t vk_f32_to_bf16(float f);
/// n values f32 → f16 (round to nearest even; beyond ±65504 → ±inf) and back (exact), F16C where the
/// CPU has it: the compact form of activations kept across calls.
void vk_f32_to_f16_n(const float *x, uint16_t *y, size_t n);
void vk_f16_to_f32_n(const uint16_t *x, float *y, size_t n);

// MARK: - Vector math: exp, activations, broadcast rows, norms, attention (f32)
//
// Each takes the level to run at: vk_vector_level(cap) picks AVX2 + FMA where the CPU has it and the cap
// allows, else portable C. exp is Cephes-style (see vmath.h): ≲ 1e-7 relative over the normal range
// (8e-8 measured), 0 below ln(FLT_MIN) and for −inf, ≈ FLT_MAX above ln(FLT_MAX), NaN kept.

/// vk_level_avx2 when the CPU has AVX2 + FMA and max_level allows it, else vk_level_portable.
int vk_vector_level(int max_level);

/// y[i] = exp(x[i]).
void vk_exp_f32(const float *x, float *y, size_t n, int level);
/// y[i] = 2^x[i] for x ≤ 0 (0 below −126), the fused attention's softmax exp: ≲ 1e-7 relative, about
/// half the work of exp (no Cody-Waite split, no overflow side). Exposed for the tests.
void vk_exp2_nonpositive_f32(const float *x, float *y, size_t n, int level);
/// y = v · σ(2u), u = √(2/π)·(v + 0.044715·v³): GELU with the tanh approximation (one exp, no tanh).
void vk_gelu_tanh_f32(const float *x, float *y, size_t n, int level);
/// y = v · σ(v).
void vk_silu_f32(const float *x, float *y, size_t n, int level);

/// One row of n with per-operand steps 1 (a row) or 0 (one value broadcast along the row):
/// y[j] = x[j] · (1 + scale[j·ss]) + shift[j·hs]  (adaLN modulation)
void vk_modulate_row_f32(const float *x, const float *scale, size_t scale_step, const float *shift,
                         size_t shift_step, float *y, size_t n, int level);
/// y[j] = x[j·xs] + gate[j·gs] · r[j·rs]  (gated residual)
void vk_gated_residual_row_f32(const float *x, size_t x_step, const float *r, size_t r_step,
                               const float *gate, size_t gate_step, float *y, size_t n, int level);

/// Rows [0, rows) of n: LayerNorm (biased variance) or RMSNorm, then the optional weight / bias [n].
/// f32 statistics, blocked over 32 partial sums; LayerNorm refines its mean with the residual sum of
/// the second pass ("corrected two-pass") and centers x on that two-float mean, so a mean much larger
/// than the spread costs no precision.
void vk_layer_norm_rows_f32(const float *x, float *y, size_t rows, size_t n, const float *weight,
                            const float *bias, float eps, int level);
void vk_rms_norm_rows_f32(const float *x, float *y, size_t rows, size_t n, const float *weight, float eps,
                          int level);
/// Normalisation over the channels of one batch item x [channels][spatial], for positions [p0, p1):
/// kind 0 PixelNorm y = x / √(mean_c x² + eps), kind 1 Wan's RMS_norm y = x · √C / max(‖x‖_c, 1e-12);
/// then y · weight[c] + bias[c] (either may be NULL). Sums in f64.
void vk_channel_norm_f32(const float *x, float *y, int channels, size_t spatial, size_t p0, size_t p1, const float *weight,
                         const float *bias, float eps, int kind, int level);
/// One row of n: LayerNorm without affine (as vk_layer_norm_rows_f32), then the adaLN modulation
/// y = norm · (1 + scale) + shift, each of scale and shift walked with step 1 or broadcast (step 0).
/// One pass over the row's output: the statistics, then the modulated write.
void vk_layer_norm_modulate_row_f32(const float *x, float *y, size_t n, const float *scale, size_t scale_step,
                                    const float *shift, size_t shift_step, float eps, int level);

/// Online-softmax update of one tile of scores (already scaled), for the attention that scores tiles
/// with BLAS: per row, masked keys (mask[c] == 0; mask may be NULL) → −inf, the running max and sum
/// updated, the scores replaced by exp(s − max) (0 for a row that has seen no key yet), and the row of
/// the [rows, d] accumulator rescaled by exp(old max − new max).
void vk_softmax_tile_f32(float *scores, int rows, int cols, int ld, const float *mask, float *row_max,
                         float *row_sum, float *acc, int d);

/// Multi-head attention, fused (AVX2: 6 × 16 FMA tiles for q·kᵀ and p·v, online softmax in between,
/// the scores of one 96-query × 256-key tile in scratch). q [batches, nq, heads·d], k and v
/// [batches, nk, heads·d], mask [batches, nk] (0 = ignore, NULL = none) → out [batches, nq, heads·d].
typedef struct {
    const float *q, *k, *v, *mask;
    float *out;
    int32_t batches, nq, nk, heads, d;
    float scale;  // usually 1/√d
} vk_attention;

/// Floats of the packed keys and values of every (batch, head); 0 when the sizes are invalid.
size_t vk_attention_packed_floats(const vk_attention *a);
/// Packs (batch, head) pairs [bh0, bh1) (bh = batch · heads + head): kᵀ in 16-key panels, v in
/// 16-column chunks (d zero-padded to a multiple of 16), masked keys left out (they would add exactly
/// 0). Pairs are independent.
void vk_attention_pack(const vk_attention *a, int bh0, int bh1, float *packed);
/// Work items: (batch, head, block of 96 queries).
int vk_attention_items(const vk_attention *a);
/// Bytes of one thread's scratch (64-byte aligned use).
size_t vk_attention_scratch_bytes(const vk_attention *a);
/// Items [i0, i1) from the packed keys and values at a level (portable: plain C tiles, for CPUs without
/// AVX2 and for the tests); items write disjoint rows of out.
void vk_attention_run(const vk_attention *a, const float *packed, int i0, int i1, int level, void *scratch);

/// The same attention with bf16 operands (attention_bf16.c, AVX-512 BF16 only): q, k, v and the softmax
/// weights rounded to bf16, products summed in f32 by vdpbf16ps, the softmax in f32. For models whose
/// weights are bf16 or q8. The calls mirror the f32 ones; run only where vk_attention_bf16_available(),
/// for head dims d ≤ VK_ATTN_BF16_MAX_D.
enum { VK_ATTN_BF16_MAX_D = 512 };
int vk_attention_bf16_available(void);
size_t vk_attention_bf16_packed_bytes(const vk_attention *a);
void vk_attention_bf16_pack(const vk_attention *a, int bh0, int bh1, uint16_t *packed);
size_t vk_attention_bf16_scratch_bytes(const vk_attention *a);
void vk_attention_bf16_run(const vk_attention *a, const uint16_t *packed, int i0, int i1, void *scratch);
// MARK: - conv3d column gathering

/// For channels [c0, c1) of one input frame `src` (channel c at src + c·channel_stride, [H][W] each): the columns of a stride-1 convolution
/// with a kh×kw kernel and zero padding (pad_h, pad_w), for output rows [row0, row0 + rows) of width
/// w_out. dst[((c·kh + dy)·kw + dx)][y·w_out + x] = src[c][row0 + y + dy − pad_h][x + dx − pad_w] (0 outside).
void vk_im2col_frame(const float *src, size_t channel_stride, int H, int W, int kh, int kw, int pad_h, int pad_w,
                     int row0, int rows, int w_out, int c0, int c1, float *dst);

// MARK: - conv3d, direct (stride 1, dilation 1)

/// One stride-1 conv3d of one batch item, computed without a column matrix (see conv3d.c). Fill the
/// sizes and pointers, call vk_conv3d_plan (it picks the level, the tile, the channel block and the work
/// split), pack the weights once with vk_conv3d_pack, then run items [i0, i1) — items (`band` consecutive
/// rows of the T'·H' output rows × one group of output channels) write disjoint parts of y and may run on
/// several threads, each with its own scratch.
/// One input frame of a conv3d read through a frame table: channel c's [H][W] plane at data + c · channel_stride
/// elements, f32 (half = 0) or f16 bits (half = 1).
typedef struct {
    const void *data;
    size_t channel_stride;
    int32_t half;
} vk_conv3d_frame;

typedef struct {
    const float *x;        // input [C][T][H][W]
    const vk_conv3d_frame *frames;  // or, when not NULL, the T input frames one by one (x unused)
    const float *weights;  // packed by vk_conv3d_pack (vk_conv3d_packed_floats floats)
    const uint16_t *weights16;  // the bf16 kernel's: packed by vk_conv3d_bf16_pack
    const float *bias;     // [O] or NULL
    float *y;              // output [O][T'][H'][W']
    int32_t c, t, h, w;
    int32_t o, kt, kh, kw;
    int32_t pad_h, pad_w;  // zero padding of rows and columns, each side
    int32_t pad_before;    // output frame f reads padded frames f … f + kT − 1, padded frame p = input frame p − pad_before
    int32_t replicate;     // frames outside [0, T): 1 repeats the nearest end, 0 reads zeros
    int32_t t_out, h_out, w_out;
    int32_t workers;       // threads that will run the items (a hint for the work split; ≤ 0 reads as 1)
    // Set by vk_conv3d_plan.
    int32_t level;         // vk_level_portable or vk_level_avx2
    int32_t ob, px;        // register tile: ob = 16 output channels × px = 6 pixels of a row
    int32_t icb;           // input channels per block
    int32_t band;          // output rows per work item
    int32_t group_blocks;  // output-channel blocks (of ob) per work item
    int32_t groups;        // ⌈⌈O/ob⌉ / group_blocks⌉ output-channel groups; an item is (band of rows, group)
} vk_conv3d;

/// Picks the level (≤ max_level), the tile and the channel block. Returns 0, or -1 for sizes that do not fit.
int vk_conv3d_plan(vk_conv3d *p, int max_level);
/// Floats of the packed weights.
size_t vk_conv3d_packed_floats(const vk_conv3d *p);
/// w [O][C][kT][kH][kW] → packed [⌈O/ob⌉][C][kT·kH·kW][ob], zero past O.
void vk_conv3d_pack(const vk_conv3d *p, const float *w, float *packed);
/// The same from f16 (bf16 = 0) or bf16 (bf16 = 1) bit patterns, widened exactly.
void vk_conv3d_pack_16(const vk_conv3d *p, const uint16_t *w, int bf16, float *packed);
/// Work items: ⌈T' · H' / band⌉ · groups.
int vk_conv3d_items(const vk_conv3d *p);
/// Floats of one thread's scratch.
size_t vk_conv3d_scratch_floats(const vk_conv3d *p);
void vk_conv3d_run(const vk_conv3d *p, int i0, int i1, float *scratch);

/// The same convolution with bf16 operands (conv3d_bf16.c, AVX-512 BF16: vdpbf16ps tiles of 32 output
/// channels × 8 pixels, the input rounded to bf16 in its panels, f32 sums), for kernels stored in bf16.
/// vk_conv3d_bf16_plan returns -1 where the CPU lacks AVX-512 BF16 (or for sizes vk_conv3d_plan refuses);
/// then pack the stored bf16 bits once and run items as with vk_conv3d_run, each thread with
/// vk_conv3d_bf16_scratch_bytes of scratch.
int vk_conv3d_bf16_plan(vk_conv3d *p);
size_t vk_conv3d_bf16_packed_halves(const vk_conv3d *p);
void vk_conv3d_bf16_pack(const vk_conv3d *p, const uint16_t *w, uint16_t *packed);
size_t vk_conv3d_bf16_scratch_bytes(const vk_conv3d *p);
void vk_conv3d_bf16_run(const vk_conv3d *p, int i0, int i1, void *scratch);
/// The bf16 kernel's speed relative to the f32 kernel's on bf16 weights (> 1: faster), timed once on a
/// small problem; 0 where the CPU cannot run it (conv3d_calibrate.c).
double vk_conv3d_bf16_relative_speed(void);

/// Allocations of at least `bytes` get a mapping of their own (glibc's M_MMAP_THRESHOLD, fixed).
void vk_malloc_mmap_threshold(size_t bytes);

#endif
