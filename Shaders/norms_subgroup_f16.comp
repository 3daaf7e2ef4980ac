#version 450
// norms kernels, f16 activations, reductions with subgroup arithmetic (see norms.glsl).
#extension GL_GOOGLE_include_directive : require
#define ACT_F16
#define SUBGROUP_REDUCTIONS
#include "norms.glsl"
