/* Portable flavour: int8 convolution and depthwise convolution of the int8 comparison network
 * (kernels.h), straightforward loops. */
#include "trit/kernels.h"

void trit_conv_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights, int cout,
                  int k, int stride, int pad, const trit_requant_t *rq, int8_t *out,
                  int32_t *scratch) {
    (void)scratch;
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
            for (int o = 0; o < cout; ++o) {
                int32_t acc = 0;
                for (int ky = 0; ky < k; ++ky) {
                    const int y = oy * stride + ky - pad;
                    if (y < 0 || y >= h) continue;
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = ox * stride + kx - pad;
                        if (x < 0 || x >= w) continue;
                        const int8_t *a = in + (y * w + x) * cin;
                        const int8_t *wt = weights + ((o * k + ky) * k + kx) * cin;
                        for (int i = 0; i < cin; ++i) acc += a[i] * wt[i];
                    }
                }
                out[(oy * ow + ox) * cout + o] = trit_requant(acc, o, rq);
            }
}

void trit_dw_s8(const int8_t *in, int h, int w, int c, const int8_t *weights, int k,
                int stride, int pad, const trit_requant_t *rq, int8_t *out, int32_t *scratch) {
    (void)scratch;
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
            for (int ch = 0; ch < c; ++ch) {
                int32_t acc = 0;
                for (int ky = 0; ky < k; ++ky) {
                    const int y = oy * stride + ky - pad;
                    if (y < 0 || y >= h) continue;
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = ox * stride + kx - pad;
                        if (x < 0 || x >= w) continue;
                        acc += in[(y * w + x) * c + ch] * weights[(ch * k + ky) * k + kx];
                    }
                }
                out[(oy * ow + ox) * c + ch] = trit_requant(acc, ch, rq);
            }
}
