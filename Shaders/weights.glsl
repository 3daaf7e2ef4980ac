// Stored weights, read as 32-bit words and unpacked here, so no kernel needs 8- or 16-bit storage
// for weights (the plain path every Vulkan 1.2 device runs): f32, f16 (two per word), bf16 (two per
// word) and q8 (four int8 per word, times an f16 scale per group of `group` columns of a row).
//
// The includer defines WEIGHT_BINDING and SCALE_BINDING. WEIGHT_TYPE is specialization constant 10.
layout(constant_id = 10) const uint WEIGHT_TYPE = 0;  // 0 f32, 1 f16, 2 bf16, 3 q8
layout(std430, set = 0, binding = WEIGHT_BINDING) readonly buffer WeightWords { uint weightWords[]; };
layout(std430, set = 0, binding = SCALE_BINDING) readonly buffer ScaleWords { uint scaleWords[]; };

// Where a weight matrix lies in its bindings: element `base` is row 0 column 0 of this dispatch,
// rows are `ld` elements apart; q8 scales start at `scaleBase` (in f16 elements), `groupsPerRow`
// per row, one per `group` columns.
struct WeightView { uint base; uint ld; uint scaleBase; uint group; uint groupsPerRow; };

float halfFromWords(uint index) {
    uint word = scaleWords[index >> 1];
    return unpackHalf2x16((index & 1u) != 0u ? word >> 16 : word).x;
}

float weightAt(WeightView view, uint row, uint column) {
    uint e = view.base + row * view.ld + column;
    if (WEIGHT_TYPE == 0u) return uintBitsToFloat(weightWords[e]);
    if (WEIGHT_TYPE == 1u) {
        uint word = weightWords[e >> 1];
        return unpackHalf2x16((e & 1u) != 0u ? word >> 16 : word).x;
    }
    if (WEIGHT_TYPE == 2u) {
        uint word = weightWords[e >> 1];
        return uintBitsToFloat((e & 1u) != 0u ? (word & 0xFFFF0000u) : (word << 16));
    }
    int q = bitfieldExtract(int(weightWords[e >> 2]), int((e & 3u) * 8u), 8);
    return float(q) * halfFromWords(view.scaleBase + row * view.groupsPerRow + column / view.group);
}
