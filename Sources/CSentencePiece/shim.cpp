// See include/csentencepiece.h.
#include "csentencepiece.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <new>
#include <string>
#include <vector>

struct vk_spm {
    sentencepiece::SentencePieceProcessor processor;
};

static void copy_error(const std::string &message, char *error, size_t capacity) {
    if (!error || capacity == 0) return;
    size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), n);
    error[n] = 0;
}

extern "C" vk_spm *vk_spm_load(const void *bytes, size_t length, char *error, size_t error_capacity) {
    vk_spm *model = new (std::nothrow) vk_spm();
    if (!model) { copy_error("out of memory", error, error_capacity); return nullptr; }
    const auto status = model->processor.LoadFromSerializedProto(
        absl::string_view(static_cast<const char *>(bytes), length));
    if (!status.ok()) {
        copy_error(status.ToString(), error, error_capacity);
        delete model;
        return nullptr;
    }
    return model;
}

extern "C" void vk_spm_free(vk_spm *model) { delete model; }

extern "C" int vk_spm_encode(const vk_spm *model, const char *text, size_t length, int *ids, int capacity, char *error,
                             size_t error_capacity) {
    std::vector<int> out;
    const auto status = model->processor.Encode(absl::string_view(text, length), &out);
    if (!status.ok()) { copy_error(status.ToString(), error, error_capacity); return -1; }
    for (size_t i = 0; i < out.size() && i < static_cast<size_t>(capacity); i++) ids[i] = out[i];
    return static_cast<int>(out.size());
}

extern "C" int vk_spm_piece_count(const vk_spm *model) { return model->processor.GetPieceSize(); }
extern "C" int vk_spm_eos_id(const vk_spm *model) { return model->processor.eos_id(); }
extern "C" int vk_spm_pad_id(const vk_spm *model) { return model->processor.pad_id(); }
extern "C" int vk_spm_unk_id(const vk_spm *model) { return model->processor.unk_id(); }
extern "C" int vk_spm_bos_id(const vk_spm *model) { return model->processor.bos_id(); }
extern "C" int vk_spm_piece_to_id(const vk_spm *model, const char *piece) { return model->processor.PieceToId(piece); }
