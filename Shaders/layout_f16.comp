#version 450
// layout kernels, f16 activations (see layout.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "layout.glsl"
