#version 450
// W8A8 linear kernels, f32 activations (see matmul_q8a8.glsl).
#extension GL_GOOGLE_include_directive : require
#include "matmul_q8a8.glsl"
