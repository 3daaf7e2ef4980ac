#version 450
// conv3d kernels, f16 activations (see conv3d.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "conv3d.glsl"
