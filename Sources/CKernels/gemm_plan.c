// Kernel choice for a weight and mode: the highest level ≤ the cap that this CPU runs and whose
// k granularity fits the weight's group; the tile and block sizes that go with it.
#include "gemm_internal.h"
#include <stdlib.h>
#include <strings.h>

int vk_kernel_level_from_env(void) {
    const char *request = getenv("VACEKIT_CPU_KERNELS");
    if (request == NULL) return vk_level_avx512;
    if (strcasecmp(request, "portable") == 0) return vk_level_portable;
    if (strcasecmp(request, "avx2") == 0) return vk_level_avx2;
    return vk_level_avx512;
}

static int cpu_has(uint32_t needed) { return (vk_cpu_features() & needed) == needed; }

static int level_available(int level, int kernel) {
    const uint32_t avx2 = vk_cpu_avx2 | vk_cpu_fma | vk_cpu_f16c;
    const uint32_t avx512 = avx2 | vk_cpu_avx512f | vk_cpu_avx512bw;
    switch (level) {
    case vk_level_portable: return 1;
    case vk_level_avx2: return kernel != vk_kernel_bf16 && cpu_has(avx2);
    default:
        if (kernel == vk_kernel_i8) return cpu_has(avx512 | vk_cpu_avx512vnni);
        if (kernel == vk_kernel_bf16) return cpu_has(avx512 | vk_cpu_avx512bf16);
        return 0;  // f32 panels run the AVX2 kernel on AVX-512 machines
    }
}

static int round_up(int v, int to) { return (v + to - 1) / to * to; }

int vk_gemm_plan_make(const vk_weight *w, int mode, int max_level, vk_gemm_plan *plan) {
    if (w == NULL || plan == NULL || w->n <= 0 || w->k <= 0 || w->data == NULL) return -1;
    if (w->kind != vk_weight_q8 && w->kind != vk_weight_bf16 && w->kind != vk_weight_f16) return -1;
    int group = 0;
    if (w->kind == vk_weight_q8) {
        if (w->scales == NULL || w->group < 0 || (w->group > 0 && w->k % w->group != 0)) return -1;
        group = w->group == 0 ? w->k : w->group;
    }
    if (mode != vk_mode_w8a8) mode = vk_mode_w8a16;
    const int quantized_activations = w->kind == vk_weight_q8 && mode == vk_mode_w8a8;

    // Candidates, best first: {level, kernel}.
    int candidates[4][2];
    int count = 0;
    if (quantized_activations) {
        candidates[count][0] = vk_level_avx512, candidates[count++][1] = vk_kernel_i8;
        candidates[count][0] = vk_level_avx2, candidates[count++][1] = vk_kernel_i8;
        candidates[count][0] = vk_level_portable, candidates[count++][1] = vk_kernel_i8;
    } else {
        if (w->kind != vk_weight_f16) candidates[count][0] = vk_level_avx512, candidates[count++][1] = vk_kernel_bf16;
        // q8 W8A16 without AVX512_BF16: int16 activations through the W8A8 kernel (its speed, and
        // ~1e-5 activation error instead of bf16's ~2e-3).
        if (w->kind == vk_weight_q8) candidates[count][0] = vk_level_avx2, candidates[count++][1] = vk_kernel_i8;
        candidates[count][0] = vk_level_avx2, candidates[count++][1] = vk_kernel_f32;
        candidates[count][0] = vk_level_portable, candidates[count++][1] = vk_kernel_f32;
    }
    for (int c = 0; c < count; c++) {
        const int level = candidates[c][0], kernel = candidates[c][1];
        if (level > max_level || !level_available(level, kernel)) continue;
        vk_gemm_plan p = {0};
        p.level = level;
        p.kernel = kernel;
        p.mode = w->kind == vk_weight_q8 ? mode : vk_mode_w8a16;
        p.group = group;
        p.mr = level == vk_level_avx512 ? 8 : level == vk_level_avx2 ? 6 : 4;
        p.nr = level == vk_level_avx512 ? 32 : 16;
        p.k_align = kernel == vk_kernel_f32 ? 1 : level == vk_level_avx512 && kernel == vk_kernel_i8 ? 4
                  : level == vk_level_portable ? 1 : 2;
        // A group is summed whole inside a block, so a group shorter than the row must split into
        // whole k steps; else try the next level down.
        const int grouped = kernel != vk_kernel_f32 && group > 0 && group < w->k;
        if (grouped && group % p.k_align != 0) continue;
        p.act_levels = kernel == vk_kernel_i8 ? (quantized_activations ? 127 : 32767) : 0;
        // int16 activations: at most 256 k per int32 sum (see vk_kernel_i8_avx2).
        if (p.act_levels > 127 && grouped && group > 256) continue;
        // Blocks of ~256 k: the packed block stays in L1 (≤ 32 KiB), and holds whole groups.
        int block = 256;
        // AVX-512 (int8 W8A8 and bf16): the whole row in one block (up to 16384 k), so that each tile
        // of C is written once. At 256 k, reading C back and writing it again every block cost 10-35%
        // of the int8 GEMM at M = 1170 (most at N = 8192, whose 32 KiB row stride crowds C into few
        // L2 sets) and ~30% of the bf16 one; the packed block (K × 32 or 64 bytes a panel) streams
        // from L2/L3 instead. 16384 · 255 · 128 < 2³¹: an int32 sum of a per-row group cannot overflow.
        if (level == vk_level_avx512 && (kernel == vk_kernel_i8 || kernel == vk_kernel_bf16)) block = w->k < 16384 ? w->k : 16384;
        // AVX2 int kernel: blocks of 1024 k. At 256 k, C was read and written back K/256 times, and with
        // both cores streaming it through the shared L3 the GEMM ran at 60–75% of its one-core speed; at
        // 1024 the 4 packed panels (128 KiB) stay in L2 and the 6 activation rows (12 KiB) in L1. int16
        // activations still flush their int32 sums every 256 k (vk_tile.span).
        if (level == vk_level_avx2 && kernel == vk_kernel_i8) block = w->k < 1024 ? w->k : 1024;
        p.kc = grouped ? group * (group < block ? block / group : 1) : block;
        p.act_bytes = kernel == vk_kernel_f32 ? 0 : kernel == vk_kernel_bf16 ? 2
                    : level == vk_level_avx2 ? 2 : 1;
        p.act_stride = round_up(w->k, p.k_align);
        *plan = p;
        return 0;
    }
    return -1;
}

size_t vk_gemm_act_bytes(const vk_gemm_plan *plan, int m) {
    return (size_t)plan->act_bytes * (size_t)plan->act_stride * (size_t)(m > 0 ? m : 0);
}
