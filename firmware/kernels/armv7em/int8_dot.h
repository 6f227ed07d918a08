/* Private helper of the ARMv7E-M int8 kernels: the 2 x 2 (pixels x weight rows) SMLAD dot
 * product over int8 vectors whose pixel side is pre-widened into int16 pairs in SXTB16 order
 * (bytes 0,2 then 1,3 of each word). */
#ifndef TRIT_ARMV7EM_INT8_DOT_H
#define TRIT_ARMV7EM_INT8_DOT_H

#include "acle_dsp.h"

#include "trit/kernels.h"

/* trit_dw_s8 with every sum multiplied by `scale` before requantisation (int8_conv.c): the
 * depthwise ternary x int8 kernel with wp == wn runs it on its codes. */
void trit_armv7em_dw_s8_scaled(const int8_t *in, int h, int w, int c, const int8_t *weights,
                               int32_t scale, int k, int stride, int pad,
                               const trit_requant_t *rq, int8_t *out, int32_t *scratch);

/* Widen n / 4 words of bytes into pairs[2 * (n / 4)]. */
static inline void widen_pairs(const int8_t *bytes, int n, uint32_t *pairs) {
    for (int g = 0; g < n / 4; ++g) {
        const uint32_t p = trit_load_u32(bytes + 4 * g);
        pairs[2 * g] = __sxtb16(p);
        pairs[2 * g + 1] = trit_sxtb16_ror8(p);
    }
}

/* Sums of patches a, b (pairs pa, pb; bytes ba, bb) with weight rows w0, w1 (n bytes). */
static inline void dot_2x2(const uint32_t *pa, const uint32_t *pb, const int8_t *ba,
                           const int8_t *bb, const int8_t *w0, const int8_t *w1, int n,
                           int32_t s[4]) {
    int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    const int groups = n / 4;
    for (int g = 0; g < groups; ++g) {
        const uint32_t v0 = trit_load_u32(w0 + 4 * g), v1 = trit_load_u32(w1 + 4 * g);
        const uint32_t x0 = __sxtb16(v0), y0 = trit_sxtb16_ror8(v0);
        const uint32_t x1 = __sxtb16(v1), y1 = trit_sxtb16_ror8(v1);
        const uint32_t pa0 = pa[2 * g], pa1 = pa[2 * g + 1], pb0 = pb[2 * g], pb1 = pb[2 * g + 1];
        a0 = __smlad(pa1, y0, __smlad(pa0, x0, a0));
        a1 = __smlad(pa1, y1, __smlad(pa0, x1, a1));
        b0 = __smlad(pb1, y0, __smlad(pb0, x0, b0));
        b1 = __smlad(pb1, y1, __smlad(pb0, x1, b1));
    }
    for (int i = 4 * groups; i < n; ++i) {
        a0 += ba[i] * w0[i];
        a1 += ba[i] * w1[i];
        b0 += bb[i] * w0[i];
        b1 += bb[i] * w1[i];
    }
    s[0] = a0;
    s[1] = a1;
    s[2] = b0;
    s[3] = b1;
}

/* Widen n bytes into pairs[2 * ceil(n / 4)] like widen_pairs, the bytes past n read as 0
 * (nothing is read beyond bytes[n - 1]). */
static inline void widen_pairs_padded(const int8_t *bytes, int n, uint32_t *pairs) {
    widen_pairs(bytes, n, pairs);
    const int g = n / 4;
    if (n % 4) {
        uint32_t p = 0;
        for (int i = 0; i < n % 4; ++i) p |= (uint32_t)(uint8_t)bytes[4 * g + i] << (8 * i);
        pairs[2 * g] = __sxtb16(p);
        pairs[2 * g + 1] = trit_sxtb16_ror8(p);
    }
}

/* One channel's requantisation parameters side by side (kernels keep an array of them, so a
 * channel's three are read from one place): bias, mult and shift - 33, the first step of the
 * rounding shift. */
typedef struct {
    int32_t bias, mult, rshift;
} requant3_t;

static inline requant3_t requant3_of(const trit_requant_t *rq, int ch) {
    const requant3_t p = {rq->bias[ch], rq->mult[ch], rq->shift[ch] - 33};
    return p;
}

/* trit_requant of acc for the channel of p, bit-exact, with the rounding shift as
 * ((hi >> (shift - 33)) + 1) >> 1 and the clamp as one saturation: USAT to 0..127 when relu
 * (act_min 0), SSAT to -128..127 otherwise (act_min -128). */
static inline __attribute__((always_inline)) int32_t requant3(int32_t acc, const requant3_t *p,
                                                              int relu) {
    const int32_t hi = (int32_t)(((int64_t)(acc + p->bias) * p->mult) >> 32);
    const int32_t y = ((hi >> p->rshift) + 1) >> 1;
    return relu ? (int32_t)__usat(y, 7) : __ssat(y, 8);
}

/* requant3 with the parameters given one by one (bias, mult, shift as in trit_requant_t). */
static inline __attribute__((always_inline)) int32_t requant_sat(int32_t acc, int32_t bias,
                                                                 int32_t mult, int32_t shift,
                                                                 int relu) {
    const requant3_t p = {bias, mult, shift - 33};
    return requant3(acc, &p, relu);
}

#endif
