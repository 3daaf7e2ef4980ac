// The GEMM driver: activation preparation by rows, and for a range of output columns the loop
// block of 4 panels (4 × NR columns) → k block (pack them) → all M rows (microkernel per panel),
// then scale and bias.
#include "gemm_internal.h"
#include <stdint.h>
#include <string.h>

/// Panels packed together per k block (see vk_gemm_columns).
#define VK_PANELS_PER_BLOCK 4

void vk_gemm_prepare(const vk_gemm_plan *plan, const float *x, int k, int m0, int m1,
                     void *act, float *row_scales) {
    if (plan->act_bytes == 0 || m1 <= m0) return;
    const int stride = plan->act_stride;
#if defined(__x86_64__)
    if (plan->level >= vk_level_avx2) {
        if (plan->kernel == vk_kernel_bf16) vk_prep_bf16_avx2(x, k, stride, m0, m1, act);
        else if (plan->level == vk_level_avx512) vk_prep_u8_avx2(x, k, stride, m0, m1, act, row_scales);
        else vk_prep_s16_avx2(x, k, stride, m0, m1, plan->act_levels, act, row_scales);
        return;
    }
#endif
    vk_prep_s8_portable(x, k, stride, m0, m1, act, row_scales);
}

/// k per int32 partial sum: the whole group, but at most 256 for int16 activations (W8A16 on AVX2),
/// whose pair products (≤ 2 · 32767 · 127) would overflow int32 past 256 k.
static int int32_span(const vk_gemm_plan *plan, int group) {
    return plan->act_levels > 127 && group > 256 ? 256 : group;
}

static void *align64(void *p) { return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/// Packs panel p (columns [nb, nb + nr)) of the block at k0 into its slot and fills its tile fields.
static void pack_panel(const vk_gemm_plan *plan, const vk_weight *w, int nb, int nr, int k0, int kc, int kcp,
                       uint8_t *panel, float *scales, int32_t *comp, vk_tile *tile) {
    const int NR = plan->nr;
    tile->panel = panel;
    tile->scales = NULL;
    tile->comp = NULL;
    if (plan->kernel == vk_kernel_f32) {
        vk_pack_f32(w, nb, nr, NR, k0, kc, (float *)panel);
    } else if (plan->kernel == vk_kernel_bf16) {
        vk_pack_bf16_k2(w, nb, nr, NR, k0, kc, kcp, (uint16_t *)panel);
        if (w->kind == vk_weight_q8) {
            vk_pack_scales(w, plan->group, nb, nr, NR, k0, kc, scales);
            tile->scales = scales;
        }
    } else {
        vk_pack_scales(w, plan->group, nb, nr, NR, k0, kc, scales);
        tile->scales = scales;
#if defined(__x86_64__)
        if (plan->level == vk_level_avx512) {
            vk_pack_s8_k4_avx512(w, nb, nr, k0, kc, kcp, tile->group, (int8_t *)panel, comp);
            tile->comp = comp;
            return;
        }
#endif
        if (plan->level == vk_level_avx2) {
            vk_pack_s16_k2(w, nb, nr, NR, k0, kc, kcp, (int16_t *)panel);
        } else {
            vk_pack_s8_k1(w, nb, nr, NR, k0, kc, (int8_t *)panel);
        }
    }
}

/// Bytes of one panel's slot in the scratch: packed block, scales, compensation (each 64-byte aligned).
static size_t panel_slot_bytes(const vk_gemm_plan *plan, size_t *scales_offset, size_t *comp_offset) {
    const size_t kc = (size_t)((plan->kc + 3) & ~3), nr = (size_t)plan->nr;
    const size_t groups = plan->group > 0 && plan->group < plan->kc ? kc / (size_t)plan->group : 1;
    // Bytes per packed weight: f32, bf16 or int16 (AVX2), int8 (AVX-512 and portable W8A8).
    const size_t bytes = plan->kernel == vk_kernel_f32 ? 4
                       : plan->kernel == vk_kernel_bf16 || plan->level == vk_level_avx2 ? 2 : 1;
    const size_t block = (kc * nr * bytes + 63) & ~(size_t)63, side = (groups * nr * 4 + 63) & ~(size_t)63;
    *scales_offset = block;
    *comp_offset = block + side;
    return block + 2 * side;
}

size_t vk_gemm_scratch_bytes(const vk_gemm_plan *plan) {
    size_t scales_offset, comp_offset;
    return VK_PANELS_PER_BLOCK * panel_slot_bytes(plan, &scales_offset, &comp_offset) + 64;
}

void vk_gemm_columns(const vk_gemm_plan *plan, const vk_weight *w, const float *x, const void *act,
                     const float *row_scales, int m, const float *bias, float *y, int n0, int n1,
                     void *scratch) {
    const int K = w->k, N = w->n, NR = plan->nr, MR = plan->mr;
    if (n1 > N) n1 = N;
    if (m <= 0 || n0 >= n1) return;
    const int grouped = plan->group > 0 && plan->group < K;
    size_t scales_offset, comp_offset;
    const size_t slot = panel_slot_bytes(plan, &scales_offset, &comp_offset);
    uint8_t *slots = align64(scratch);

    void (*kernel)(const vk_tile *) = vk_kernel_f32_portable;
    if (plan->kernel == vk_kernel_i8) kernel = vk_kernel_i8_portable;
#if defined(__x86_64__)
    if (plan->level == vk_level_avx2)
        kernel = plan->kernel == vk_kernel_i8 ? vk_kernel_i8_avx2 : vk_kernel_f32_avx2;
    if (plan->level == vk_level_avx512)
        kernel = plan->kernel == vk_kernel_i8 ? vk_kernel_i8_avx512 : vk_kernel_bf16_avx512;
#endif
    const size_t a_stride = plan->act_bytes ? (size_t)plan->act_stride * plan->act_bytes : (size_t)K * 4;
    const uint8_t *a_base = plan->act_bytes ? (const uint8_t *)act : (const uint8_t *)x;

    // Blocks of up to VK_PANELS_PER_BLOCK panels: the rows of x a microkernel reads (MR × KC) come
    // into L1 (L2 for the long blocks of W8A8 on AVX-512) once and serve every panel of the block.
    for (int nb0 = n0; nb0 < n1; nb0 += VK_PANELS_PER_BLOCK * NR) {
        const int nb1 = n1 - nb0 < VK_PANELS_PER_BLOCK * NR ? n1 : nb0 + VK_PANELS_PER_BLOCK * NR;
        const int panels = (nb1 - nb0 + NR - 1) / NR;
        for (int k0 = 0; k0 < K; k0 += plan->kc) {
            const int kc = K - k0 < plan->kc ? K - k0 : plan->kc;
            const int kcp = (kc + plan->k_align - 1) / plan->k_align * plan->k_align;
            vk_tile tiles[VK_PANELS_PER_BLOCK];
            for (int p = 0; p < panels; p++) {
                vk_tile *tile = &tiles[p];
                const int nb = nb0 + p * NR;
                memset(tile, 0, sizeof *tile);
                tile->kc = kcp;
                tile->group = grouped ? plan->group : kcp;
                tile->span = int32_span(plan, tile->group);
                tile->nr = nb1 - nb < NR ? nb1 - nb : NR;
                tile->ldc = (size_t)N;
                tile->accumulate = k0 > 0;
                tile->a_stride = a_stride;
                uint8_t *base = slots + (size_t)p * slot;
                pack_panel(plan, w, nb, tile->nr, k0, kc, kcp, base, (float *)(base + scales_offset),
                           (int32_t *)(base + comp_offset), tile);
            }
            const size_t k_offset = plan->act_bytes ? (size_t)k0 * plan->act_bytes : (size_t)k0 * 4;
            for (int mb = 0; mb < m; mb += MR) {
                for (int p = 0; p < panels; p++) {
                    vk_tile *tile = &tiles[p];
                    tile->mr = m - mb < MR ? m - mb : MR;
                    tile->a = a_base + (size_t)mb * a_stride + k_offset;
                    tile->c = y + (size_t)mb * N + nb0 + p * NR;
                    kernel(tile);
                }
            }
        }
    }
    // y = row scale (quantized activations) · y + bias.
    const int per_row_scale = plan->kernel == vk_kernel_i8;
    if (!per_row_scale && bias == NULL) return;
    for (int r = 0; r < m; r++) {
        float *out = y + (size_t)r * N;
        const float s = per_row_scale ? row_scales[r] : 1.0f;
        if (bias)
            for (int c = n0; c < n1; c++) out[c] = out[c] * s + bias[c];
        else
            for (int c = n0; c < n1; c++) out[c] *= s;
    }
}
