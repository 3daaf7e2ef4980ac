#ifndef VACEKIT_GEMM_INTERNAL_H
#define VACEKIT_GEMM_INTERNAL_H
// Private pieces of the stored-weight GEMM (see ckernels.h for the flow): the tile a microkernel
// computes, the packers that build its weight block, and the per-level kernels and activation preps.
#include "ckernels.h"
#include <string.h>

/// One microkernel call: C[mr, nr] (=|+=) A[mr, kc] · P[kc, NR] for one packed block.
typedef struct {
    const uint8_t *a;       // prepared activations (or f32 x) of the tile's first row, at the block's k
    size_t a_stride;        // bytes between rows of a
    int mr;                 // valid rows (≤ the kernel's MR; missing rows repeat the last one, unstored)
    const void *panel;      // packed weight block, NR columns, layout per kernel
    const float *scales;    // [kc / group][NR] scale of each group and column, NULL = 1
    const int32_t *comp;    // [kc / group][NR] Σ 128·w of each group (u8-shifted activations), or NULL
    int kc;                 // k of the block, rounded up to the kernel's k granularity
    int group;              // k per scale (divides kc)
    int span;               // k per int32 partial sum (≤ group, even; ≤ 256 for int16 activations)
    float *c;               // output at the tile's first row and column
    size_t ldc;             // floats between rows of c
    int nr;                 // valid columns (≤ NR)
    int accumulate;         // 0: c = result (first block), 1: c += result
} vk_tile;

// Packers (plain C but the W8A8 one, in gemm_avx512.c; a block is swept by all M rows, so their cost
// is ~1/M, which at the int8 kernel's speed still shows byte-at-a-time).
// Each writes the block of W rows [n0, n0+nr), columns [k0, k0+kc) for an NR-wide panel, zero-padded.
void vk_pack_f32(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, float *panel);
void vk_pack_s8_k1(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, int8_t *panel);
void vk_pack_s16_k2(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, int kcp, int16_t *panel);
void vk_pack_s8_k4_avx512(const vk_weight *w, int n0, int nr, int k0, int kc, int kcp, int group,
                          int8_t *panel, int32_t *comp);  // NR = 32, x86-64 only
void vk_pack_bf16_k2(const vk_weight *w, int n0, int nr, int NR, int k0, int kc, int kcp, uint16_t *panel);
void vk_pack_scales(const vk_weight *w, int group, int n0, int nr, int NR, int k0, int kc, float *scales);

// Microkernels. Tiles: portable 4×16, AVX2 6×16, AVX-512 8×32.
void vk_kernel_f32_portable(const vk_tile *t);  // panel f32 [kc][16], a = f32 x
void vk_kernel_i8_portable(const vk_tile *t);   // panel s8 [kc][16], a = s8
void vk_kernel_f32_avx2(const vk_tile *t);      // panel f32 [kc][16], a = f32 x
void vk_kernel_i8_avx2(const vk_tile *t);       // panel s16 [kc/2][16][2], a = s16 (int8 or int16 range)
void vk_kernel_i8_avx512(const vk_tile *t);     // panel s8 [kc/4][32][4], a = u8 (q + 128), comp
void vk_kernel_bf16_avx512(const vk_tile *t);   // panel bf16 [kc/2][32][2], a = bf16

// Activation preparation of rows [m0, m1): x [.., k] → act [.., stride], padded k..stride.
// Quantization: scale = max|x| / L, q = round_even(x · (L / max|x|)) clamped to ±L, in every variant;
// L = 127, or 32767 for the int16 activations of W8A16 on AVX2.
void vk_prep_s8_portable(const float *x, int k, int stride, int m0, int m1, int8_t *act, float *scales);
void vk_prep_s16_avx2(const float *x, int k, int stride, int m0, int m1, int levels, int16_t *act, float *scales);
void vk_prep_u8_avx2(const float *x, int k, int stride, int m0, int m1, uint8_t *act, float *scales);
void vk_prep_bf16_avx2(const float *x, int k, int stride, int m0, int m1, uint16_t *act);

/// Loads 4 bytes at any alignment (activations broadcast as one 32-bit lane).
static inline int32_t vk_load_i32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }
#endif
