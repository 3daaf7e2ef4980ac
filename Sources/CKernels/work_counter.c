#include "ckernels.h"

int32_t vk_claim_next(int32_t *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }
