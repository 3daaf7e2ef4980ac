#version 450
// matmul kernels, f32 activations (see matmul.glsl).
#extension GL_GOOGLE_include_directive : require
#include "matmul.glsl"
