/* Reference flavour: pointwise ternary x binary convolution with requantised int8 outputs
 * (the last layer of a block on an int8 stream, IR v3): acc = wp * P - wn * N by AND +
 * popcount (trit_ternary_bin_acc) through trit_requant. */
#include "trit/kernels.h"

void trit_pw_ternary_bin_s8(const uint32_t *in, int pixels, int cin, const uint32_t *sign,
                            const uint32_t *nz, trit_scales_t s, int cout,
                            const trit_requant_t *rq, int8_t *out, int32_t *scratch) {
    (void)scratch;
    const int iw = TRIT_WORDS(cin);
    for (int px = 0; px < pixels; ++px) {
        const uint32_t *a = in + px * iw;
        for (int o = 0; o < cout; ++o)
            out[px * cout + o] =
                trit_requant(trit_ternary_bin_acc(a, sign + o * iw, nz + o * iw, iw, s), o, rq);
    }
}
