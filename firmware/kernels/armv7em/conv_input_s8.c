/* ARMv7E-M flavour: the input convolution, int8 pixels x int8 weights -> binary, with SMLAD.
 *
 * Per output pixel the k x k x cin patch is gathered once into int16 pairs laid out for
 * SXTB16: for patch elements j..j+3, pair (j, j+2) then pair (j+1, j+3), zero outside the
 * image. Each output channel then reads its int8 weights four at a time, widens them with
 * SXTB16 (bytes 0,2 and, rotated, 1,3) and accumulates two products per SMLAD. */
#include <arm_acle.h>
#include <string.h>

#include "trit/kernels.h"

static inline uint32_t load_u32(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* unaligned word load on ARMv7-M */
    return v;
}

void trit_conv_input_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                        int cout, int k, int stride, int pad, const trit_threshold_t *thr,
                        uint32_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int ow_words = TRIT_WORDS(cout);
    const int n = k * k * cin, groups = n / 4, tail = n - 4 * groups;
    if (cout + 2 * groups + tail > TRIT_SCRATCH_INTS(cout)) { /* patch too large: plain loops */
        for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ++ox) {
                for (int o = 0; o < cout; ++o) {
                    int32_t sum = 0;
                    for (int ky = 0; ky < k; ++ky)
                        for (int kx = 0; kx < k; ++kx) {
                            const int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                            if (y < 0 || y >= h || x < 0 || x >= w) continue;
                            for (int i = 0; i < cin; ++i)
                                sum += in[(y * w + x) * cin + i] * weights[((o * k + ky) * k + kx) * cin + i];
                        }
                    scratch[o] = sum;
                }
                trit_threshold_pack(scratch, cout, thr, 0, 0, out + (oy * ow + ox) * ow_words);
            }
        return;
    }
    int32_t *acc = scratch;                               /* [cout] */
    uint32_t *pairs = (uint32_t *)(scratch + cout);       /* [2 * groups] */
    int8_t *rest = (int8_t *)(pairs + 2 * groups);        /* [tail] */
    int8_t patch[4];
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            /* gather the patch, 4 elements at a time */
            int j = 0, q = 0;
            for (int ky = 0; ky < k; ++ky) {
                const int y = oy * stride + ky - pad;
                for (int kx = 0; kx < k; ++kx) {
                    const int x = ox * stride + kx - pad;
                    const int inside = y >= 0 && y < h && x >= 0 && x < w;
                    const int8_t *px = in + (y * w + x) * cin;
                    for (int i = 0; i < cin; ++i, ++j) {
                        patch[j & 3] = inside ? px[i] : 0;
                        if ((j & 3) == 3 && q < groups) {
                            pairs[2 * q] = (uint16_t)patch[0] | ((uint32_t)(uint16_t)patch[2] << 16);
                            pairs[2 * q + 1] = (uint16_t)patch[1] | ((uint32_t)(uint16_t)patch[3] << 16);
                            ++q;
                        } else if (j >= 4 * groups) {
                            rest[j - 4 * groups] = patch[j & 3];
                        }
                    }
                }
            }
            const int8_t *wt = weights;
            for (int o = 0; o < cout; ++o, wt += n) {
                int32_t sum = 0;
                for (int g = 0; g < groups; ++g) {
                    const uint32_t wv = load_u32(wt + 4 * g);
                    sum = __smlad(pairs[2 * g], __sxtb16(wv), sum);
                    sum = __smlad(pairs[2 * g + 1], __sxtb16((wv >> 8) | (wv << 24)), sum);
                }
                for (int t = 0; t < tail; ++t) sum += rest[t] * wt[4 * groups + t];
                acc[o] = sum;
            }
            trit_threshold_pack(acc, cout, thr, 0, 0, out + (oy * ow + ox) * ow_words);
        }
    }
}
