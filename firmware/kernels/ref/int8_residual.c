/* Portable flavour: the residual add with the option-A shortcut of int8-activation models
 * (IR v2, kernels.h). */
#include "trit/kernels.h"

void trit_add_residual_s8(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w,
                          int b_c, int b_stride, int32_t ma, int32_t mb, int shift,
                          int32_t act_min, int8_t *out) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int8_t *ap = a + (y * w + x) * c;
            const int8_t *bp = b + (y * b_stride * b_w + x * b_stride) * b_c;
            int8_t *op = out + (y * w + x) * c;
            for (int ch = 0; ch < c; ++ch) {
                const int32_t bv = ch < b_c ? bp[ch] : 0;
                int32_t v = (ap[ch] * ma + bv * mb + round) >> shift;
                if (v < act_min) v = act_min;
                if (v > 127) v = 127;
                op[ch] = (int8_t)v;
            }
        }
}
