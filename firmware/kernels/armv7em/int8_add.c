/* ARMv7E-M flavour: the int8 comparison network's residual add (kernels.h). Four values per
 * pass: one word of a and one of b widened with SXTB16, each value's (a, b) pair packed into
 * one word and multiplied by the packed (ma, mb) with one SMLAD whose addend is the rounding
 * constant, then a shift and one saturation (USAT to 0..127 for act_min 0, SSAT to -128..127
 * otherwise, any other floor applied after); the n % 4 last values one by one. */
#include "acle_dsp.h"

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

static inline __attribute__((always_inline)) void
add_values(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
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

void trit_add_s8(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
                 int32_t act_min, int8_t *out) {
    if (act_min == 0) {
        add_values(a, b, n, ma, mb, shift, out, 1);
        return;
    }
    add_values(a, b, n, ma, mb, shift, out, 0);
    if (act_min > -128) /* the comparison network uses -128 and 0; any other floor after */
        for (int i = 0; i < n; ++i)
            if (out[i] < act_min) out[i] = (int8_t)act_min;
}
