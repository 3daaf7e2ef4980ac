#version 450
// norms kernels, f32 activations, reductions with subgroup arithmetic (see norms.glsl).
#extension GL_GOOGLE_include_directive : require
#define SUBGROUP_REDUCTIONS
#include "norms.glsl"
