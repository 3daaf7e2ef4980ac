// Which conv3d kernel a bf16-stored convolution should run on this CPU. vdpbf16ps sums two products per
// lane where an FMA makes one, but not every CPU issues it as often: Zen 4 runs the bf16 kernel at ~1.9×
// the f32 one, a Xeon with two 512-bit FMA ports (and one bf16 dot-product port) at ~0.6×. So the two are
// timed once, single-threaded, on a small 64-channel 3×3×3 problem (~170 MFLOP each, a few milliseconds).
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ckernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static vk_conv3d problem(void) {
    vk_conv3d p;
    memset(&p, 0, sizeof p);
    p.c = 64, p.t = 3, p.h = 8, p.w = 96, p.o = 64, p.kt = 3, p.kh = 3, p.kw = 3;
    p.pad_h = 1, p.pad_w = 1, p.t_out = 1, p.h_out = 8, p.w_out = 96, p.workers = 1;
    return p;
}

double vk_conv3d_bf16_relative_speed(void) {
    vk_conv3d f = problem(), b = problem();
    if (vk_conv3d_bf16_plan(&b) != 0 || vk_conv3d_plan(&f, vk_level_avx512) != 0) return 0;
    const size_t nx = (size_t)f.c * f.t * f.h * f.w, nw = (size_t)f.o * f.c * 27, ny = (size_t)f.o * f.h_out * f.w_out;
    float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float));
    uint16_t *w = malloc(nw * sizeof(uint16_t));
    float *packed = malloc(vk_conv3d_packed_floats(&f) * sizeof(float)), *scratch = malloc(vk_conv3d_scratch_floats(&f) * sizeof(float));
    uint16_t *packed16 = malloc(vk_conv3d_bf16_packed_halves(&b) * sizeof(uint16_t));
    void *scratch16 = malloc(vk_conv3d_bf16_scratch_bytes(&b));
    double speed = 0;
    if (x && y && w && packed && scratch && packed16 && scratch16) {
        for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 37) % 17) * 0.0625f - 0.5f;
        for (size_t i = 0; i < nw; i++) w[i] = (uint16_t)(0x3c00 + (i * 13) % 256);  // small positive bf16 values
        vk_conv3d_pack_16(&f, w, 1, packed);
        vk_conv3d_bf16_pack(&b, w, packed16);
        f.x = b.x = x, f.y = b.y = y, f.weights = packed, b.weights16 = packed16;
        double best_f = 1e9, best_b = 1e9;
        for (int rep = 0; rep < 4; rep++) {  // the first of each is a warm-up
            double t0 = now();
            vk_conv3d_run(&f, 0, vk_conv3d_items(&f), scratch);
            double t1 = now();
            vk_conv3d_bf16_run(&b, 0, vk_conv3d_items(&b), scratch16);
            double t2 = now();
            if (rep > 0 && t1 - t0 < best_f) best_f = t1 - t0;
            if (rep > 0 && t2 - t1 < best_b) best_b = t2 - t1;
        }
        speed = best_f / best_b;
    }
    free(x), free(y), free(w), free(packed), free(scratch), free(packed16), free(scratch16);
    return speed;
}
