// glibc malloc tuning for large activations (see CPUBackend.mallocSettings).
#include <malloc.h>
#include "ckernels.h"

void vk_malloc_mmap_threshold(size_t bytes) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, (int)bytes);
#endif
}
