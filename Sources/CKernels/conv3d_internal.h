#ifndef VACEKIT_CONV3D_INTERNAL_H
#define VACEKIT_CONV3D_INTERNAL_H
// Pieces the f32 and bf16 direct conv3d kernels (conv3d.c, conv3d_bf16.c) share.
#include "ckernels.h"

/// Columns [0, n) of input channel c, frame `frame`, row y as f32 (from x or the frame table).
void vk_conv3d_input_row(const vk_conv3d *p, int c, int frame, int y, int n, float *out);

/// The accumulators of an item's rows [r0, r0 + nr) and channel blocks [b0, b1), each row's laid out
/// [block][W'][ob] `acc_floats` apart, into y[oc][f][y][x] with the bias.
void vk_conv3d_write_rows(const vk_conv3d *p, const float *accs, size_t acc_floats, int r0, int nr, int b0, int b1);
/// Geometry of one tile pass of the f32 kernel: the panel at the tile's first column, and strides
/// between its rows.
typedef struct {
    const float *in;      // panel + first pixel of the tile
    const float *w;       // weight block: [n][taps][ob]
    float *acc;           // [px][ob]
    int n, kt, kh, kw, wp;
    int first;            // 1: start from 0 (first channel block), else add to acc
} vk_conv3d_tile_args;

/// X(1) … X(8): one tile function per pixel count of the AVX-512 tiles (a row's last tile may be narrower),
/// and their table indexed by that count.
#define VK_CONV3D_WIDTHS_8(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
#define VK_CONV3D_TILE_ENTRY(n) tile##n,

/// The f32 tile of 32 output channels × px ≤ 8 pixels in zmm registers (conv3d_avx512.c).
void vk_conv3d_tile_avx512(const vk_conv3d_tile_args *a, int px);
#endif
