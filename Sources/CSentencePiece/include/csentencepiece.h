// A C interface over the SentencePiece C++ library (Debian libsentencepiece-dev), for Swift: load a
// serialized model, encode UTF-8 text to piece ids, read the model's special-token ids.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vk_spm vk_spm;

/// A processor for the serialized ModelProto `bytes`, or NULL with a message in `error`.
vk_spm *vk_spm_load(const void *bytes, size_t length, char *error, size_t error_capacity);
void vk_spm_free(vk_spm *model);

/// Encodes `length` bytes of UTF-8 into ids. Writes at most `capacity` ids and returns how many the
/// text has (call again with a larger buffer when that is more), or -1 with a message in `error`.
int vk_spm_encode(const vk_spm *model, const char *text, size_t length, int *ids, int capacity, char *error, size_t error_capacity);

int vk_spm_piece_count(const vk_spm *model);
int vk_spm_eos_id(const vk_spm *model);
int vk_spm_pad_id(const vk_spm *model);
int vk_spm_unk_id(const vk_spm *model);
int vk_spm_bos_id(const vk_spm *model);
/// The id of `piece` (the unknown id when the model has no such piece).
int vk_spm_piece_to_id(const vk_spm *model, const char *piece);

#ifdef __cplusplus
}
#endif
#endif
