/* NEON flavour: the int8 comparison network's residual add (kernels.h), eight values per
 * pass: both bytes widened to int16 lanes (ma, mb < 2^15 fit them), a * ma with VMULL.S16 and
 * + b * mb with VMLAL.S16 by scalar into int32 lanes from the rounding constant, VSHL by -shift
 * (a right shift), the clamp and two narrowing moves; the n % 8 last values in C. */
#include <arm_neon.h>

#include "trit/kernels.h"

/* clamp((a * ma + b * mb + round) >> shift) of four int16 lanes each. */
static inline int32x4_t add4(int16x4_t a, int16x4_t b, int16_t ma, int16_t mb, int32x4_t round,
                             int32x4_t right, int32x4_t lo, int32x4_t hi) {
    const int32x4_t v = vmlal_n_s16(vmlal_n_s16(round, a, ma), b, mb);
    return vminq_s32(vmaxq_s32(vshlq_s32(v, right), lo), hi);
}

void trit_add_s8(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
                 int32_t act_min, int8_t *out) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    const int32x4_t vround = vdupq_n_s32(round), right = vdupq_n_s32(-shift);
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(127);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const int16x8_t va = vmovl_s8(vld1_s8(a + i)), vb = vmovl_s8(vld1_s8(b + i));
        const int32x4_t y0 = add4(vget_low_s16(va), vget_low_s16(vb), (int16_t)ma, (int16_t)mb,
                                  vround, right, lo, hi);
        const int32x4_t y1 = add4(vget_high_s16(va), vget_high_s16(vb), (int16_t)ma,
                                  (int16_t)mb, vround, right, lo, hi);
        vst1_s8(out + i, vmovn_s16(vcombine_s16(vmovn_s32(y0), vmovn_s32(y1))));
    }
    for (; i < n; ++i) {
        int32_t y = (a[i] * ma + b[i] * mb + round) >> shift;
        if (y < act_min) y = act_min;
        if (y > 127) y = 127;
        out[i] = (int8_t)y;
    }
}
