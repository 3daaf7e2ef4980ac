#version 450
// y_out[i] = f16(alpha * f32(x[i]) + f32(y[i])) for i < n: f16 storage, f32 arithmetic.
// Needs only storageBuffer16BitAccess (not shaderFloat16): the f16 values are converted on load
// and store, which is how VaceKit's activations will be read on devices without f16 arithmetic.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer X { float16_t x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Y { float16_t y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { float16_t yOut[]; };

layout(push_constant) uniform Params { uint n; float alpha; } params;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < params.n) {
        // precise: no fused multiply-add, so the result is bit-exact against a CPU reference.
        precise float r = params.alpha * float(x[i]) + float(y[i]);
        yOut[i] = float16_t(r);
    }
}
