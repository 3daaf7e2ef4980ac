#version 450
// matmul on NVIDIA cooperative matrices, f32 activations rounded to f16 in the tiles (see matmul_coopmat.glsl).
#extension GL_GOOGLE_include_directive : require
#include "matmul_coopmat.glsl"
