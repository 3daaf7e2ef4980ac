// linear: out[m][n] = Σ_k x[m][k] · W[n][k] (+ bias[n]), f32 accumulation (Backend.linear).
// W is dequantized on its way into shared memory (weights.glsl), so an int8 weight is read from
// memory at int8 width; large tensors are split by the host (linear_io.glsl).
#include "linear_io.glsl"

float loadL(uint m, uint k) { return loadX(m, k); }
float loadR(uint n, uint k) { return loadW(n, k); }
void storeC(uint m, uint n, float value) { storeOut(m, n, value); }

#include "gemm.glsl"

void main() { gemm(p.M, p.N, p.K); }
