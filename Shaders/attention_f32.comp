#version 450
// attention kernels, f32 activations (see attention.glsl).
#extension GL_GOOGLE_include_directive : require
#include "attention.glsl"
