/* Reference flavour: the sign of an int8 tensor packed as a binary one (IR v3 `sign`). */
#include "trit/kernels.h"

void trit_sign_pack_s8(const int8_t *in, int pixels, int c, uint32_t *out) {
    const int nw = TRIT_WORDS(c);
    for (int p = 0; p < pixels; ++p) {
        uint32_t *o = out + p * nw;
        for (int j = 0; j < nw; ++j) o[j] = 0;
        for (int ch = 0; ch < c; ++ch)
            if (in[p * c + ch] < 0) o[ch / 32] |= 1u << (ch % 32);
    }
}
