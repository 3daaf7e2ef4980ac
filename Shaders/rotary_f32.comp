#version 450
// rotary kernels, f32 activations (see rotary.glsl).
#extension GL_GOOGLE_include_directive : require
#include "rotary.glsl"
