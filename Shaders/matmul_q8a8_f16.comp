#version 450
// W8A8 linear kernels, f16 activations (see matmul_q8a8.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "matmul_q8a8.glsl"
