/* Portable flavour: depthwise ternary x int8 convolution with requantised int8 outputs, for
 * int8-activation models (IR v2, kernels.h); taps outside the image add 0. */
#include "trit/kernels.h"

void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    (void)scratch;
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
            for (int ch = 0; ch < c; ++ch) {
                int32_t d = 0, t = 0;
                for (int ky = 0; ky < k; ++ky) {
                    const int y = oy * stride + ky - pad;
                    if (y < 0 || y >= h) continue;
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = ox * stride + kx - pad;
                        if (x < 0 || x >= w) continue;
                        const int8_t code = codes[ch * k * k + ky * k + kx];
                        const int32_t v = in[(y * w + x) * c + ch];
                        d += code * v;
                        t += (code != 0) * v;
                    }
                }
                out[(oy * ow + ox) * c + ch] =
                    trit_requant(trit_ternary_acc(d, t, s), ch, rq);
            }
}
