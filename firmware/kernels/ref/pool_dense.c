/* Reference flavour: global sum pooling of binary maps and the ternary dense classifier. */
#include "trit/kernels.h"

void trit_global_sum_pool_bin(const uint32_t *in, int pixels, int c, int32_t *out) {
    const int words = TRIT_WORDS(c);
    for (int ch = 0; ch < c; ++ch) {
        int32_t negatives = 0;
        for (int p = 0; p < pixels; ++p) negatives += (in[p * words + ch / 32] >> (ch % 32)) & 1u;
        out[ch] = pixels - 2 * negatives;
    }
}

void trit_dense_ternary(const int32_t *in, int cin, const uint32_t *sign, const uint32_t *nz,
                        trit_scales_t s, const int32_t *bias, int cout, int32_t *out) {
    const int words = TRIT_WORDS(cin);
    for (int o = 0; o < cout; ++o) {
        int32_t p = 0, n = 0;
        for (int i = 0; i < cin; ++i) {
            const uint32_t bit = 1u << (i % 32);
            if (!(nz[o * words + i / 32] & bit)) continue;
            if (sign[o * words + i / 32] & bit) n += in[i]; else p += in[i];
        }
        out[o] = s.wp * p - s.wn * n + bias[o];
    }
}
