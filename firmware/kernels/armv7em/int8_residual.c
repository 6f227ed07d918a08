/* ARMv7E-M flavour: the residual add with the option-A shortcut of int8-activation models
 * (IR v2, kernels.h). Per value two multiply-accumulates (the rounding constant as the first
 * one's addend), a shift and one saturation; channels past b_c take a alone. */
#include "acle_dsp.h"

#include "trit/kernels.h"

static inline __attribute__((always_inline)) void
add_rows(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w, int b_c, int b_stride,
         int32_t ma, int32_t mb, int shift, int8_t *out, int relu) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int8_t *ap = a + (y * w + x) * c;
            const int8_t *bp = b + (y * b_stride * b_w + x * b_stride) * b_c;
            int8_t *op = out + (y * w + x) * c;
            int ch = 0;
            for (; ch < b_c; ++ch) {
                const int32_t v = (ap[ch] * ma + (bp[ch] * mb + round)) >> shift;
                op[ch] = (int8_t)(relu ? (int32_t)__usat(v, 7) : __ssat(v, 8));
            }
            for (; ch < c; ++ch) {
                const int32_t v = (ap[ch] * ma + round) >> shift;
                op[ch] = (int8_t)(relu ? (int32_t)__usat(v, 7) : __ssat(v, 8));
            }
        }
}

void trit_add_residual_s8(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w,
                          int b_c, int b_stride, int32_t ma, int32_t mb, int shift,
                          int32_t act_min, int8_t *out) {
    if (act_min == 0) {
        add_rows(a, h, w, c, b, b_w, b_c, b_stride, ma, mb, shift, out, 1);
        return;
    }
    add_rows(a, h, w, c, b, b_w, b_c, b_stride, ma, mb, shift, out, 0);
    if (act_min > -128) /* the IR uses -128 and 0; any other floor is applied after */
        for (int i = 0; i < h * w * c; ++i)
            if (out[i] < act_min) out[i] = (int8_t)act_min;
}
