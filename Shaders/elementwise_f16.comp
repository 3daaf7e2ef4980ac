#version 450
// elementwise kernels, f16 activations (see elementwise.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "elementwise.glsl"
