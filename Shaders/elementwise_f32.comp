#version 450
// elementwise kernels, f32 activations (see elementwise.glsl).
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
