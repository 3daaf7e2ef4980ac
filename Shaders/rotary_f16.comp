#version 450
// rotary kernels, f16 activations (see rotary.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "rotary.glsl"
