/* ARMv7E-M flavour: global sum pooling of binary maps and the ternary dense classifier.
 *
 * Pooling counts the -1 values of 32 channels at once: each pixel's word is ripple-added into
 * a 5-bit bit-sliced counter (up to 31 pixels per round), whose lanes are then added into the
 * per-channel sums; out[c] = pixels - 2 * count. The dense layer visits only the non-zero
 * weights of each output, lowest input first (RBIT + CLZ), adding the inputs under +1 and
 * under -1 into two sums. */
#include "trit/kernels.h"

#define POOL_ROUND 31 /* pixels per round: the 5-bit sliced counter's limit */

void trit_global_sum_pool_bin(const uint32_t *in, int pixels, int c, int32_t *out) {
    const int words = TRIT_WORDS(c);
    for (int ch = 0; ch < c; ++ch) out[ch] = pixels;
    for (int g = 0; g < words; ++g) {
        const int lanes = c - g * 32 < 32 ? c - g * 32 : 32;
        int32_t *o = out + g * 32;
        for (int p0 = 0; p0 < pixels; p0 += POOL_ROUND) {
            const int n = pixels - p0 < POOL_ROUND ? pixels - p0 : POOL_ROUND;
            const uint32_t *q = in + p0 * words + g;
            uint32_t b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0;
            for (int i = 0; i < n; ++i, q += words) {
                uint32_t x = *q, t;
                t = b0 & x; b0 ^= x; x = t;
                t = b1 & x; b1 ^= x; x = t;
                t = b2 & x; b2 ^= x; x = t;
                t = b3 & x; b3 ^= x; x = t;
                b4 ^= x;
            }
            for (int l = 0; l < lanes; ++l) {
                const int32_t cnt = (int32_t)(((b0 >> l) & 1u) | (((b1 >> l) & 1u) << 1) |
                                              (((b2 >> l) & 1u) << 2) | (((b3 >> l) & 1u) << 3) |
                                              (((b4 >> l) & 1u) << 4));
                o[l] -= 2 * cnt;
            }
        }
    }
}

void trit_dense_ternary(const int32_t *in, int cin, const uint32_t *sign, const uint32_t *nz,
                        trit_scales_t s, const int32_t *bias, int cout, int32_t *out) {
    const int words = TRIT_WORDS(cin);
    for (int o = 0; o < cout; ++o) {
        const uint32_t *z = nz + o * words, *sg = sign + o * words;
        int32_t p = 0, n = 0;
        for (int j = 0; j < words; ++j) {
            const int32_t *x = in + 32 * j;
            uint32_t pos = z[j] & ~sg[j], neg = z[j] & sg[j];
            while (pos) {
                p += x[__builtin_ctz(pos)];
                pos &= pos - 1u;
            }
            while (neg) {
                n += x[__builtin_ctz(neg)];
                neg &= neg - 1u;
            }
        }
        out[o] = s.wp * p - s.wn * n + bias[o];
    }
}
