/* ARMv7E-M flavour: depthwise ternary x int8 convolution with requantised int8 outputs
 * (int8-activation models, IR v2; kernels.h). With wp == wn the codes ([C][K*K] int8, the
 * layout of int8 depthwise weights) go through the int8 depthwise kernel, four channels per
 * word with SMLABB / SMLATT, and each sum is multiplied by wp; unequal scales take loops that
 * sum P and N apart. */
#include "int8_dot.h"
#include "trit/kernels.h"

void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    if (s.wp == s.wn) {
        trit_armv7em_dw_s8_scaled(in, h, w, c, codes, s.wp, k, stride, pad, rq, out, scratch);
        return;
    }
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad;
        const int ky0 = y0 < 0 ? -y0 : 0, ky1 = y0 + k > h ? h - y0 : k;
        for (int ox = 0; ox < ow; ++ox) {
            const int x0 = ox * stride - pad;
            const int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + k > w ? w - x0 : k;
            for (int ch = 0; ch < c; ++ch) {
                int32_t p = 0, n = 0;
                for (int ky = ky0; ky < ky1; ++ky)
                    for (int kx = kx0; kx < kx1; ++kx) {
                        const int8_t code = codes[(ch * k + ky) * k + kx];
                        const int32_t v = in[((y0 + ky) * w + x0 + kx) * c + ch];
                        if (code > 0) p += v;
                        else if (code < 0) n += v;
                    }
                out[(oy * ow + ox) * c + ch] = trit_requant(s.wp * p - s.wn * n, ch, rq);
            }
        }
    }
}
