#version 450
// attention kernels, f16 activations (see attention.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#include "attention.glsl"
