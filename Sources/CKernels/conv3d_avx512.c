// The f32 direct conv3d's AVX-512 register tile (conv3d.c does the rest: panels, blocking, write-out):
// 32 output channels (2 zmm) × up to 8 consecutive pixels, 16 accumulators; per (channel, dt, dy, dx)
// step 2 weight loads and 8 broadcast samples feed 16 FMAs. The weights are packed 32 lanes wide
// (vk_conv3d_plan sets ob = 32 at this level).
#include "conv3d_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#define CONV_AVX512 __attribute__((target("avx512f,fma")))

enum { OB = 32, PX = 8 };

/// KW > 0 fixes the kernel width at compile time (3: the dx loop unrolled), 0 reads it.
static inline __attribute__((always_inline)) CONV_AVX512 void tile(const vk_conv3d_tile_args *a, const int px, const int KW) {
    __m512 acc[PX][2];
    for (int j = 0; j < px; j++)
        for (int v = 0; v < 2; v++) acc[j][v] = a->first ? _mm512_setzero_ps() : _mm512_loadu_ps(a->acc + j * OB + v * 16);
    const float *w = a->w;
    const size_t wp = (size_t)a->wp;
    const int rows = a->n * a->kt * a->kh, kw = KW > 0 ? KW : a->kw;
    const float *row = a->in;
    for (int r = 0; r < rows; r++, row += wp)
        for (int dx = 0; dx < kw; dx++, w += OB) {
            const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
            for (int j = 0; j < px; j++) {
                const __m512 x = _mm512_set1_ps(row[dx + j]);
                acc[j][0] = _mm512_fmadd_ps(x, w0, acc[j][0]);
                acc[j][1] = _mm512_fmadd_ps(x, w1, acc[j][1]);
            }
        }
    for (int j = 0; j < px; j++)
        for (int v = 0; v < 2; v++) _mm512_storeu_ps(a->acc + j * OB + v * 16, acc[j][v]);
}
#define TILE(n)                                                                                   \
    CONV_AVX512 static void tile##n(const vk_conv3d_tile_args *a) {                               \
        if (a->kw == 3) tile(a, n, 3);                                                            \
        else tile(a, n, 0);                                                                       \
    }
VK_CONV3D_WIDTHS_8(TILE)
static void (*const tiles[PX + 1])(const vk_conv3d_tile_args *) = {NULL, VK_CONV3D_WIDTHS_8(VK_CONV3D_TILE_ENTRY)};

void vk_conv3d_tile_avx512(const vk_conv3d_tile_args *a, int px) { tiles[px](a); }
#else
void vk_conv3d_tile_avx512(const vk_conv3d_tile_args *a, int px) {
    (void)a, (void)px;  // never called: vk_conv3d_plan picks AVX-512 on x86 only
}
#endif
