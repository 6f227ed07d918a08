/* Portable flavour: pointwise ternary x int8 convolution with requantised int8 outputs, for
 * int8-activation models (IR v2, kernels.h). Per output channel the codes are unpacked from
 * the bit planes once, then acc = wp * P - wn * N over every pixel (P, N: sums of the inputs
 * under +1, -1 codes). */
#include "trit/kernels.h"

void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    int8_t *codes = (int8_t *)scratch; /* one output channel's codes, cin bytes */
    const int nw = TRIT_WORDS(cin);
    for (int o = 0; o < cout; ++o) {
        for (int i = 0; i < cin; ++i) {
            const uint32_t bit = 1u << (i % 32);
            const int non_zero = (nz[o * nw + i / 32] & bit) != 0;
            const int negative = (sign[o * nw + i / 32] & bit) != 0;
            codes[i] = (int8_t)(non_zero ? (negative ? -1 : 1) : 0);
        }
        for (int p = 0; p < pixels; ++p) {
            const int8_t *x = in + p * cin;
            int32_t d = 0, t = 0;
            for (int i = 0; i < cin; ++i) {
                d += codes[i] * x[i];
                t += (codes[i] != 0) * x[i];
            }
            out[p * cout + o] = trit_requant(trit_ternary_acc(d, t, s), o, rq);
        }
    }
}
