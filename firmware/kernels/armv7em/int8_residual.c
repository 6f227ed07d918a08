/* ARMv7E-M flavour: the residual add with the option-A shortcut of int8-activation models
 * (IR v2, kernels.h). Per value two multiply-accumulates (the rounding constant as the first
 * one's addend), a shift and one saturation; channels past b_c take a alone. Scales below
 * 2^15 (the int8 twins' shortcuts; the 8-bit-activation models' are wider) take the packed
 * SMLAD run of add_run.h for the channels with a shortcut value, cores with Helium its vector
 * run for every shape. */
#include "add_run.h"

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

/* A run of n values (b NULL: a alone) with the flavour's fast add: Helium vectors (clamped to
 * act_min..127), else the packed SMLAD run (scales below 2^15, USAT when relu, else SSAT). */
static inline __attribute__((always_inline)) void
add_run(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
        int32_t act_min, int8_t *out, int relu) {
#ifdef __ARM_FEATURE_MVE
    (void)relu;
    add_run_helium(a, b, n, ma, mb, shift, act_min, out);
#else
    (void)act_min;
    if (b != NULL) add_run_packed(a, b, n, ma, mb, shift, out, relu);
    else add_alone_packed(a, n, ma, shift, out, relu);
#endif
}

/* Per pixel the channels with a shortcut value as one add_run, then those without as another;
 * tensors of the same layout as one run. */
static inline __attribute__((always_inline)) void
add_rows_runs(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w, int b_c,
              int b_stride, int32_t ma, int32_t mb, int shift, int32_t act_min, int8_t *out,
              int relu) {
    if (b_stride == 1 && b_c == c && b_w == w) {
        add_run(a, b, h * w * c, ma, mb, shift, act_min, out, relu);
        return;
    }
    const int both = b_c < c ? b_c : c;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int8_t *ap = a + (y * w + x) * c;
            const int8_t *bp = b + (y * b_stride * b_w + x * b_stride) * b_c;
            int8_t *op = out + (y * w + x) * c;
            add_run(ap, bp, both, ma, mb, shift, act_min, op, relu);
            if (both < c)
                add_run(ap + both, NULL, c - both, ma, mb, shift, act_min, op + both, relu);
        }
}

void trit_add_residual_s8(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w,
                          int b_c, int b_stride, int32_t ma, int32_t mb, int shift,
                          int32_t act_min, int8_t *out) {
#ifdef __ARM_FEATURE_MVE
    add_rows_runs(a, h, w, c, b, b_w, b_c, b_stride, ma, mb, shift, act_min, out, 0);
#else
    const int packed = ma < 32768 && mb < 32768; /* both >= 0 (kernels.h) */
    if (act_min == 0) {
        if (packed) add_rows_runs(a, h, w, c, b, b_w, b_c, b_stride, ma, mb, shift, 0, out, 1);
        else add_rows(a, h, w, c, b, b_w, b_c, b_stride, ma, mb, shift, out, 1);
        return;
    }
    if (packed) add_rows_runs(a, h, w, c, b, b_w, b_c, b_stride, ma, mb, shift, -128, out, 0);
    else add_rows(a, h, w, c, b, b_w, b_c, b_stride, ma, mb, shift, out, 0);
    if (act_min > -128) /* the IR uses -128 and 0; any other floor is applied after */
        for (int i = 0; i < h * w * c; ++i)
            if (out[i] < act_min) out[i] = (int8_t)act_min;
#endif
}
