#include "ckernels.h"

uint32_t vk_cpu_features(void) {
    uint32_t f = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= vk_cpu_avx2;
    if (__builtin_cpu_supports("fma")) f |= vk_cpu_fma;
    if (__builtin_cpu_supports("f16c")) f |= vk_cpu_f16c;
    if (__builtin_cpu_supports("avx512f")) f |= vk_cpu_avx512f;
    if (__builtin_cpu_supports("avx512bw")) f |= vk_cpu_avx512bw;
    if (__builtin_cpu_supports("avx512vnni")) f |= vk_cpu_avx512vnni;
    if (__builtin_cpu_supports("avx512bf16")) f |= vk_cpu_avx512bf16;
#endif
    return f;
}
