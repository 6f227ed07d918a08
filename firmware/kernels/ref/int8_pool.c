/* Portable flavour (used by every flavour): the global sum pooling of int8-activation models
 * (IR v2, kernels.h). */
#include "trit/kernels.h"

void trit_global_sum_pool_s8(const int8_t *in, int pixels, int c, int32_t *out) {
    for (int ch = 0; ch < c; ++ch) out[ch] = 0;
    for (int p = 0; p < pixels; ++p)
        for (int ch = 0; ch < c; ++ch) out[ch] += in[p * c + ch];
}
