#ifndef VACEKIT_ATTENTION_INTERNAL_H
#define VACEKIT_ATTENTION_INTERNAL_H
// Private pieces of the fused attention (see ckernels.h): the block sizes and the one step each level
// implements, a query block meeting a key tile.
#include "ckernels.h"

/// Queries per work item (a multiple of the 6-row microtile) and keys per tile (a multiple of the
/// 16-key panel). The tile's scores (96 KiB), its packed kᵀ and v (128 KiB each at d = 128) and the
/// accumulator (48 KiB) stay in a 512 KiB L2.
enum { VK_ATTN_MQ = 96, VK_ATTN_NT = 256, VK_ATTN_PANEL = 16 };

/// One query block meeting one key tile: scores = q · kᵀ, online-softmax update of the row max / sum
/// and the accumulator, accumulator += p · v.
typedef struct {
    const float *q;          // first query row of the block (head offset applied)
    size_t q_stride;         // floats between query rows (heads · d)
    int rows;                // queries in the block, ≤ VK_ATTN_MQ
    int d, dp;               // head dim, and d rounded up to 16 (row length of packed v and acc)
    const float *kt;         // packed kᵀ of the tile: [panels][d][16], keys past `cols` zero
    const float *v;          // packed v of the tile: [dp / 16 column chunks][cols][16]
    size_t v_chunk;          // floats between the column chunks of v
    int cols;                // keys in the tile, ≤ VK_ATTN_NT
    float scale;             // applied to the raw scores inside the exp
    float *scores;           // [VK_ATTN_MQ][VK_ATTN_NT] scratch
    float *acc;              // [rows][dp] unnormalised output
    float *row_max, *row_sum;  // [rows] running max of the scores (in the level's own units), sum of exp
} vk_attn_tile;

void vk_attention_tile_portable(const vk_attn_tile *t);
void vk_attention_tile_avx2(const vk_attn_tile *t);
#endif
