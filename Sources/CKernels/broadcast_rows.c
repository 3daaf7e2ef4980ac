// adaLN modulation and the gated residual, one output row at a time. Each operand walks its row with
// step 1 or is one value broadcast along it (step 0): [B, N, C] against [B, 1, C] rows or a [1] gate.
#include "ckernels.h"
#include "vmath.h"

#if defined(__x86_64__)
/// 8 floats at p + j, or p[0] broadcast when the operand's step is 0.
VK_AVX2 static inline __m256 load_step(const float *p, size_t step, size_t j) {
    return step ? _mm256_loadu_ps(p + j) : _mm256_broadcast_ss(p);
}
VK_AVX2 static inline __m256 load_step_tail(const float *p, size_t step, size_t j, __m256i lanes) {
    return step ? _mm256_maskload_ps(p + j, lanes) : _mm256_broadcast_ss(p);
}

VK_AVX2 static void modulate_avx2(const float *x, const float *scale, size_t ss, const float *shift, size_t hs,
                                  float *y, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 s = _mm256_add_ps(one, load_step(scale, ss, j));
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(_mm256_loadu_ps(x + j), s, load_step(shift, hs, j)));
    }
    if (j < n) {
        const __m256i lanes = vk_lanes_avx2((int)(n - j));
        const __m256 s = _mm256_add_ps(one, load_step_tail(scale, ss, j, lanes));
        _mm256_maskstore_ps(y + j, lanes, _mm256_fmadd_ps(_mm256_maskload_ps(x + j, lanes), s, load_step_tail(shift, hs, j, lanes)));
    }
}

VK_AVX2 static void gated_residual_avx2(const float *x, size_t xs, const float *r, size_t rs, const float *gate, size_t gs,
                                        float *y, size_t n) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(load_step(gate, gs, j), load_step(r, rs, j), load_step(x, xs, j)));
    if (j < n) {
        const __m256i lanes = vk_lanes_avx2((int)(n - j));
        _mm256_maskstore_ps(y + j, lanes, _mm256_fmadd_ps(load_step_tail(gate, gs, j, lanes), load_step_tail(r, rs, j, lanes),
                                                          load_step_tail(x, xs, j, lanes)));
    }
}
#endif

void vk_modulate_row_f32(const float *x, const float *scale, size_t scale_step, const float *shift,
                         size_t shift_step, float *y, size_t n, int level) {
    scale_step = scale_step != 0, shift_step = shift_step != 0;
#if defined(__x86_64__)
    if (level >= vk_level_avx2) { modulate_avx2(x, scale, scale_step, shift, shift_step, y, n); return; }
#endif
    (void)level;
    for (size_t j = 0; j < n; j++) y[j] = x[j] * (1.0f + scale[j * scale_step]) + shift[j * shift_step];
}

void vk_gated_residual_row_f32(const float *x, size_t x_step, const float *r, size_t r_step,
                               const float *gate, size_t gate_step, float *y, size_t n, int level) {
    x_step = x_step != 0, r_step = r_step != 0, gate_step = gate_step != 0;
#if defined(__x86_64__)
    if (level >= vk_level_avx2) { gated_residual_avx2(x, x_step, r, r_step, gate, gate_step, y, n); return; }
#endif
    (void)level;
    for (size_t j = 0; j < n; j++) y[j] = x[j * x_step] + gate[j * gate_step] * r[j * r_step];
}
