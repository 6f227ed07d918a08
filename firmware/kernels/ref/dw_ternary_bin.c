/* Reference flavour: depthwise ternary x binary convolution; out-of-image taps add 0. */
#include "trit/kernels.h"

void trit_dw_ternary_bin(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch,
                         const uint32_t *sliced, int in_y0, int y0, int y1) {
    (void)sliced; /* the portable flavour counts per channel */
    const int ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c);
    for (int oy = y0; oy < y1; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            for (int ch = 0; ch < c; ++ch) {
                int32_t p = 0, n = 0;
                for (int ky = 0; ky < k; ++ky) {
                    const int y = oy * stride + ky - pad;
                    if (y < 0 || y >= h) continue;
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = ox * stride + kx - pad;
                        if (x < 0 || x >= w) continue;
                        const int code = codes[ch * k * k + ky * k + kx];
                        if (!code) continue;
                        const uint32_t word = in[((y - in_y0) * w + x) * words + ch / 32];
                        const int v = ((word >> (ch % 32)) & 1u) ? -1 : 1;
                        if (code > 0) p += v; else n += v;
                    }
                }
                scratch[ch] = s.wp * p - s.wn * n;
            }
            trit_threshold_pack(scratch, c, thr, 0, 0, out + ((oy - y0) * ow + ox) * words);
        }
    }
}
