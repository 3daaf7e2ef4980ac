#version 450
// layout kernels, f32 activations (see layout.glsl).
#extension GL_GOOGLE_include_directive : require
#include "layout.glsl"
