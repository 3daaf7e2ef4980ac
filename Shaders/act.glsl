// Activation storage for every kernel family. Each family's body (<family>.glsl) is compiled twice:
// <family>_f32.comp (plain f32, needs no optional feature) and <family>_f16.comp, which defines
// ACT_F16 (f16 activations; needs storageBuffer16BitAccess, never f16 arithmetic: values are widened
// to f32 on load and all math is f32).
//
// In the f16 variant every input binding is also visible as f32, so f32 operands (weights such as
// norm scales, biases and modulation tables kept in f32) are read without rounding; the kernel's
// `halfMask` push constant says, per input, which view to read. Outputs are always in the
// activation type.
#ifdef ACT_F16
#extension GL_EXT_shader_16bit_storage : require

#define ACT_INPUT(b, name) \
    layout(std430, set = 0, binding = b) readonly buffer name##F32 { float name##_f32[]; }; \
    layout(std430, set = 0, binding = b) readonly buffer name##F16 { float16_t name##_f16[]; };
#define ACT_LOAD(name, i, isHalf) ((isHalf) ? float(name##_f16[i]) : name##_f32[i])
#define ACT_OUTPUT(b, name) \
    layout(std430, set = 0, binding = b) buffer name##F16 { float16_t name##_f16[]; };
#define ACT_STORE(name, i, v) name##_f16[i] = float16_t(v)
#define ACT_OUTPUT_LOAD(name, i) float(name##_f16[i])

#else

#define ACT_INPUT(b, name) \
    layout(std430, set = 0, binding = b) readonly buffer name##F32 { float name##_f32[]; };
#define ACT_LOAD(name, i, isHalf) name##_f32[i]
#define ACT_OUTPUT(b, name) \
    layout(std430, set = 0, binding = b) buffer name##F32 { float name##_f32[]; };
#define ACT_STORE(name, i, v) name##_f32[i] = (v)
#define ACT_OUTPUT_LOAD(name, i) name##_f32[i]

#endif

// Bit i of a `halfMask` push constant: input i is f16.
bool isHalfInput(uint mask, uint operand) { return (mask & (1u << operand)) != 0u; }

// A linear invocation index over a 2-D grid of 1-D workgroups (x-major): dispatches of more than
// 65535 workgroups spill into y.
uint linearInvocation(uint groupSize) {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * groupSize + gl_LocalInvocationID.x;
}
