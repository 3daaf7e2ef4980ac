#version 450
// matmul on NVIDIA cooperative matrices, f16 activations (see matmul_coopmat.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "matmul_coopmat.glsl"
