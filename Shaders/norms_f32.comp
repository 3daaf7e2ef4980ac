#version 450
// norms kernels, f32 activations (see norms.glsl).
#extension GL_GOOGLE_include_directive : require
#include "norms.glsl"
