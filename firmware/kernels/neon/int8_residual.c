/* NEON flavour: the residual add with the option-A shortcut of int8-activation models (IR v2,
 * kernels.h): per pixel the channels with a shortcut value as one run of add_run.h, those
 * without as another; tensors of the same layout as one run. In place (out == a) is safe: a
 * run reads each group of values before it writes them. */
#include "add_run.h"

void trit_add_residual_s8(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w,
                          int b_c, int b_stride, int32_t ma, int32_t mb, int shift,
                          int32_t act_min, int8_t *out) {
    if (b_stride == 1 && b_c == c && b_w == w) {
        add_run_neon(a, b, h * w * c, ma, mb, shift, act_min, out);
        return;
    }
    const int both = b_c < c ? b_c : c;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int8_t *ap = a + (y * w + x) * c;
            const int8_t *bp = b + (y * b_stride * b_w + x * b_stride) * b_c;
            int8_t *op = out + (y * w + x) * c;
            add_run_neon(ap, bp, both, ma, mb, shift, act_min, op);
            if (both < c)
                add_run_neon(ap + both, NULL, c - both, ma, mb, shift, act_min, op + both);
        }
}
