#version 450
// conv3d kernels, f32 activations (see conv3d.glsl).
#extension GL_GOOGLE_include_directive : require
#include "conv3d.glsl"
