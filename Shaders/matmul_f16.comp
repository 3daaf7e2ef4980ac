#version 450
// matmul kernels, f16 activations (see matmul.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "matmul.glsl"
