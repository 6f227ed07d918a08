/* Private helpers of the ARMv7E-M int8 adds (int8_add.c, int8_residual.c): a run of n values
 * y = clamp((a * ma + b * mb + 2^(shift - 1)) >> shift), with SMLAD on packed pairs, and on
 * cores with Helium four values per vector. */
#ifndef TRIT_ARMV7EM_ADD_RUN_H
#define TRIT_ARMV7EM_ADD_RUN_H

#include "acle_dsp.h"
#include <stddef.h>

#include "trit/kernels.h"

/* (lane 0 of lo, lane 0 of hi) and (lane 1 of lo, lane 1 of hi) as int16 pairs: PKHBT and
 * PKHTB (GCC builds the same from masks and ORs in two instructions each). */
static inline uint32_t pack_low(uint32_t lo, uint32_t hi) {
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
static inline uint32_t pack_high(uint32_t lo, uint32_t hi) {
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}

static inline __attribute__((always_inline)) int32_t clamp8(int32_t v, int relu) {
    return relu ? (int32_t)__usat(v, 7) : __ssat(v, 8);
}

/* y = clamp((a * ma + b * mb + 2^(shift - 1)) >> shift) for n values, ma and mb in
 * [0, 2^15), the clamp USAT to 0..127 when relu, else SSAT to -128..127: four values per pass,
 * one word of a and one of b widened with SXTB16, each value's (a, b) pair packed into one word
 * (PKHBT / PKHTB) and multiplied by the packed (ma, mb) with one SMLAD whose addend is the
 * rounding constant, a shift and one saturation; the n % 4 last values one by one. */
static inline __attribute__((always_inline)) void
add_run_packed(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
               int8_t *out, int relu) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    const uint32_t m = (uint32_t)ma | ((uint32_t)mb << 16); /* both in [0, 2^15) */
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t va = trit_load_u32(a + i), vb = trit_load_u32(b + i);
        const uint32_t a02 = __sxtb16(va), a13 = trit_sxtb16_ror8(va);
        const uint32_t b02 = __sxtb16(vb), b13 = trit_sxtb16_ror8(vb);
        const int32_t y0 = clamp8(__smlad(pack_low(a02, b02), m, round) >> shift, relu);
        const int32_t y1 = clamp8(__smlad(pack_low(a13, b13), m, round) >> shift, relu);
        const int32_t y2 = clamp8(__smlad(pack_high(a02, b02), m, round) >> shift, relu);
        const int32_t y3 = clamp8(__smlad(pack_high(a13, b13), m, round) >> shift, relu);
        out[i] = (int8_t)y0;
        out[i + 1] = (int8_t)y1;
        out[i + 2] = (int8_t)y2;
        out[i + 3] = (int8_t)y3;
    }
    for (; i < n; ++i) out[i] = (int8_t)clamp8((a[i] * ma + b[i] * mb + round) >> shift, relu);
}

/* add_run_packed of a alone (the channels past a shortcut's). */
static inline __attribute__((always_inline)) void
add_alone_packed(const int8_t *a, int n, int32_t ma, int shift, int8_t *out, int relu) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    for (int i = 0; i < n; ++i) out[i] = (int8_t)clamp8((a[i] * ma + round) >> shift, relu);
}

#ifdef __ARM_FEATURE_MVE
#include <arm_mve.h>

/* Helium: y clamped to act_min..127, four values per vector: widening byte loads to 32-bit
 * lanes, a * ma with one VMUL by scalar, the rounding constant, + b * mb with one VMLA by
 * scalar, a VSHL by -shift (a right shift), VMAX and VMIN, a narrowing byte store; the n % 4
 * last under a tail predicate. b NULL: a alone. 
Not inlined: inside the callers' loops GCC spilled
 * the scales and stepped copies of the pointers. */
__attribute__((noinline)) static void add_run_helium(const int8_t *a, const int8_t *b, int n,
                                                     int32_t ma, int32_t mb, int shift,
                                                     int32_t act_min, int8_t *out) {
    const int32x4_t round = vdupq_n_s32((int32_t)(1u << (shift - 1))), right = vdupq_n_s32(-shift);
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(127);
    const int8_t *const end = a + (n & ~3);
    if (b != NULL) {
        for (; a != end; a += 4, b += 4, out += 4) {
            int32x4_t v = vaddq_s32(vmulq_n_s32(vldrbq_s32(a), ma), round);
            v = vmlaq_n_s32(v, vldrbq_s32(b), mb);
            vstrbq_s32(out, vminq_s32(vmaxq_s32(vshlq_s32(v, right), lo), hi));
        }
    } else {
        for (; a != end; a += 4, out += 4) {
            const int32x4_t v = vaddq_s32(vmulq_n_s32(vldrbq_s32(a), ma), round);
            vstrbq_s32(out, vminq_s32(vmaxq_s32(vshlq_s32(v, right), lo), hi));
        }
    }
    if (n & 3) {
        const mve_pred16_t p = vctp32q((uint32_t)(n & 3));
        int32x4_t v = vaddq_s32(vmulq_n_s32(vldrbq_z_s32(a, p), ma), round);
        if (b != NULL) v = vmlaq_n_s32(v, vldrbq_z_s32(b, p), mb);
        vstrbq_p_s32(out, vminq_s32(vmaxq_s32(vshlq_s32(v, right), lo), hi), p);
    }
}
#endif

#endif
