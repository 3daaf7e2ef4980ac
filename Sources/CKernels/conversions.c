#include "ckernels.h"
#include <string.h>

// f16 → f32 without F16C: put exponent and mantissa into f32 position and rescale by 2^112 (exact for
// normals and subnormals alike); infinities and NaNs get the f32 all-ones exponent.
float vk_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t magnitude = h & 0x7fffu;
    uint32_t bits = magnitude << 13;
    float f;
    memcpy(&f, &bits, 4);
    f *= 0x1p112f;
    memcpy(&bits, &f, 4);
    if (magnitude >= 0x7c00u) bits = 0x7f800000u | (magnitude & 0x3ffu) << 13;
    bits |= sign;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t vk_f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}
