#ifndef VACEKIT_CONV3D_INTERNAL_H
#define VACEKIT_CONV3D_INTERNAL_H
// Pieces the f32 and bf16 direct conv3d kernels (conv3d.c, conv3d_bf16.c) share.
#include "ckernels.h"

/// Columns [0, n) of input channel c, frame `frame`, row y as f32 (from x or the frame table).
void vk_conv3d_input_row(const vk_conv3d *p, int c, int frame, int y, int n, float *out);

/// The accumulators of an item's rows [r0, r0 + nr) and channel blocks [b0, b1), each row's laid out
/// [block][W'][ob] `acc_floats` apart, into y[oc][f][y][x] with the bias.
void vk_conv3d_write_rows(const vk_conv3d *p, const float *accs, size_t acc_floats, int r0, int nr, int b0, int b1);
#endif
