// Column gathering for the stride-1 conv3d of CPUBackend: one input frame, a band of output rows.
// Rows are copied as contiguous runs (memcpy) with zeroed borders, instead of one bounds test per
// element, so the gather costs a small fraction of the GEMM it feeds.
#include <string.h>
#include "ckernels.h"

void vk_im2col_frame(const float *src, size_t channel_stride, int H, int W, int kh, int kw, int pad_h, int pad_w,
                     int row0, int rows, int w_out, int c0, int c1, float *dst) {
    const size_t n = (size_t)rows * (size_t)w_out;
    for (int c = c0; c < c1; c++) {
        const float *plane = src + (size_t)c * channel_stride;
        for (int dy = 0; dy < kh; dy++) {
            for (int dx = 0; dx < kw; dx++) {
                float *out = dst + ((size_t)(c * kh + dy) * kw + dx) * n;
                // Output x reads input x + dx - pad_w: valid for x in [x0, x1).
                int x0 = pad_w - dx, x1 = W + pad_w - dx;
                if (x0 < 0) x0 = 0;
                if (x1 > w_out) x1 = w_out;
                for (int y = 0; y < rows; y++) {
                    float *row = out + (size_t)y * w_out;
                    const int sy = row0 + y + dy - pad_h;
                    if (sy < 0 || sy >= H || x1 <= x0) {
                        memset(row, 0, sizeof(float) * (size_t)w_out);
                        continue;
                    }
                    if (x0 > 0) memset(row, 0, sizeof(float) * (size_t)x0);
                    memcpy(row + x0, plane + (size_t)sy * W + (x0 + dx - pad_w), sizeof(float) * (size_t)(x1 - x0));
                    if (x1 < w_out) memset(row + x1, 0, sizeof(float) * (size_t)(w_out - x1));
                }
            }
        }
    }
}
