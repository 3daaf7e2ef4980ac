#version 450
// norms kernels, f16 activations (see norms.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "norms.glsl"
