/* Private helper of the NEON int8 adds (int8_add.c, int8_residual.c): a run of n values
 * y = clamp((a * ma + b * mb + 2^(shift - 1)) >> shift, act_min, 127), eight per pass, b NULL
 * for a alone. Scales below 2^15 multiply int16 lanes by scalar (VMLAL.S16 into int32 lanes
 * from the rounding constant), wider ones (up to 2^22, the 8-bit-activation models') int32
 * lanes (VMLA.I32); then VSHL by -shift (a right shift), the clamp and narrowing moves; the
 * n % 8 last values in C. */
#ifndef TRIT_NEON_ADD_RUN_H
#define TRIT_NEON_ADD_RUN_H

#include <arm_neon.h>
#include <stddef.h>

#include "trit/kernels.h"

/* The clamped, shifted sums of eight values, narrowed to bytes. */
static inline int8x8_t add_narrow8(int32x4_t lo, int32x4_t hi, int32x4_t right, int32x4_t vmin,
                                   int32x4_t vmax) {
    lo = vminq_s32(vmaxq_s32(vshlq_s32(lo, right), vmin), vmax);
    hi = vminq_s32(vmaxq_s32(vshlq_s32(hi, right), vmin), vmax);
    return vmovn_s16(vcombine_s16(vmovn_s32(lo), vmovn_s32(hi)));
}

static void add_run_neon(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb,
                         int shift, int32_t act_min, int8_t *out) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    const int32x4_t vround = vdupq_n_s32(round), right = vdupq_n_s32(-shift);
    const int32x4_t vmin = vdupq_n_s32(act_min), vmax = vdupq_n_s32(127);
    const int narrow = ma < 32768 && mb < 32768; /* both >= 0 (kernels.h) */
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const int16x8_t va = vmovl_s8(vld1_s8(a + i));
        const int16x8_t vb = b ? vmovl_s8(vld1_s8(b + i)) : vdupq_n_s16(0);
        int32x4_t lo, hi;
        if (narrow) {
            lo = vmlal_n_s16(vmlal_n_s16(vround, vget_low_s16(va), (int16_t)ma),
                             vget_low_s16(vb), (int16_t)mb);
            hi = vmlal_n_s16(vmlal_n_s16(vround, vget_high_s16(va), (int16_t)ma),
                             vget_high_s16(vb), (int16_t)mb);
        } else {
            lo = vmlaq_n_s32(vmlaq_n_s32(vround, vmovl_s16(vget_low_s16(va)), ma),
                             vmovl_s16(vget_low_s16(vb)), mb);
            hi = vmlaq_n_s32(vmlaq_n_s32(vround, vmovl_s16(vget_high_s16(va)), ma),
                             vmovl_s16(vget_high_s16(vb)), mb);
        }
        vst1_s8(out + i, add_narrow8(lo, hi, right, vmin, vmax));
    }
    for (; i < n; ++i) {
        int32_t y = (a[i] * ma + (b ? b[i] : 0) * mb + round) >> shift;
        if (y < act_min) y = act_min;
        if (y > 127) y = 127;
        out[i] = (int8_t)y;
    }
}

#endif
