#version 450
// activation quantization for the W8A8 linear, f16 activations (see quantize_rows.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "quantize_rows.glsl"
