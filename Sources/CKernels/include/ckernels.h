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
#endif
