#version 450
// activation quantization for the W8A8 linear, f32 activations (see quantize_rows.glsl).
#extension GL_GOOGLE_include_directive : require
#include "quantize_rows.glsl"
