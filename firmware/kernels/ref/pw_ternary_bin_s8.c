/* Reference flavour: pointwise ternary x binary convolution with requantised int8 outputs
 * (the last layer of a block on an int8 stream, IR v3). P and N by AND + popcount as in
 * trit_pw_ternary_bin, then acc = wp * P - wn * N through trit_requant. */
#include "trit/kernels.h"

void trit_pw_ternary_bin_s8(const uint32_t *in, int pixels, int cin, const uint32_t *sign,
                            const uint32_t *nz, trit_scales_t s, int cout,
                            const trit_requant_t *rq, int8_t *out, int32_t *scratch) {
    (void)scratch;
    const int iw = TRIT_WORDS(cin);
    for (int px = 0; px < pixels; ++px) {
        const uint32_t *a = in + px * iw;
        for (int o = 0; o < cout; ++o) {
            int32_t p = 0, n = 0;
            for (int j = 0; j < iw; ++j) {
                const uint32_t pm = nz[o * iw + j] & ~sign[o * iw + j];
                const uint32_t nm = nz[o * iw + j] & sign[o * iw + j];
                p += trit_popcount32(pm) - 2 * trit_popcount32(pm & a[j]);
                n += trit_popcount32(nm) - 2 * trit_popcount32(nm & a[j]);
            }
            out[px * cout + o] = trit_requant(s.wp * p - s.wn * n, o, rq);
        }
    }
}
