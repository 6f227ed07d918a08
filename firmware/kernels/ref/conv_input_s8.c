/* Reference flavour: the input convolution, int8 pixels x int8 weights -> binary. */
#include "trit/kernels.h"

void trit_conv_input_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                        int cout, int k, int stride, int pad, const trit_threshold_t *thr,
                        uint32_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int ow_words = TRIT_WORDS(cout);
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            for (int o = 0; o < cout; ++o) {
                int32_t acc = 0;
                for (int ky = 0; ky < k; ++ky) {
                    const int y = oy * stride + ky - pad;
                    if (y < 0 || y >= h) continue;
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = ox * stride + kx - pad;
                        if (x < 0 || x >= w) continue;
                        const int8_t *px = in + (y * w + x) * cin;
                        const int8_t *wt = weights + ((o * k + ky) * k + kx) * cin;
                        for (int i = 0; i < cin; ++i) acc += (int32_t)px[i] * wt[i];
                    }
                }
                scratch[o] = acc;
            }
            trit_threshold_pack(scratch, cout, thr, 0, 0, out + (oy * ow + ox) * ow_words);
        }
    }
}
