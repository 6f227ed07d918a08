/* ARMv7E-M flavour: pointwise ternary x binary convolution with requantised int8 outputs
 * (the last layer of a block on an int8 stream, IR v3; kernels.h).
 * Equal scales (wp == wn = alpha) and act_min 0 or -128 (the models' case): per output channel
 *   acc + bias = alpha (|nz| - 2 cnt) + bias = k0 - 2 alpha cnt, cnt = popcount(nz & (a ^ s)),
 *   with k0 = alpha |nz| + bias made once per call in the scratch; the count is a SWAR popcount
 *   (bitcount.h), the requantisation one SMMUL, a rounding shift and one saturation
 *   (requant_sat's arithmetic). One-word inputs (cin <= 32) go two pixels per pass, so each
 *   channel's planes and parameters are loaded once per pair; two and three words have their
 *   word loop unrolled.
 * Otherwise the portable arithmetic (trit_requant of wp P - wn N). */
#include "bitcount.h"
#include "int8_dot.h"
#include "trit/kernels.h"

/* The requantised output of k0 - a2 * cnt (= acc + bias) for multiplier `mult`, shift `sh`. */
static inline __attribute__((always_inline)) int8_t out_code(int32_t k0, int32_t a2,
                                                              uint32_t cnt, int32_t mult,
                                                              int32_t sh, int relu) {
    const int32_t hi = (int32_t)(((int64_t)(k0 - a2 * (int32_t)cnt) * mult) >> 32);
    const int32_t y = ((hi >> (sh - 33)) + 1) >> 1;
    return (int8_t)(relu ? (int32_t)__usat(y, 7) : __ssat(y, 8));
}

/* Pixels px0..pixels-1 with iw input words each (inlined with iw constant for 2 and 3 words:
 * the word loop unrolled). */
static inline __attribute__((always_inline)) void
pixels_words(const uint32_t *in, int px0, int pixels, const int iw, const uint32_t *sign,
             const uint32_t *nz, int cout, const int32_t *k0, int32_t a2, const int32_t *mult,
             const int32_t *shift, int8_t *out, int relu, swar_masks_t m) {
    for (int px = px0; px < pixels; ++px) {
        const uint32_t *a = in + px * iw;
        int8_t *y = out + px * cout;
        for (int o = 0; o < cout; ++o) {
            const uint32_t *s = sign + o * iw, *z = nz + o * iw;
            uint32_t cnt = 0;
            int j = 0;
            for (; j + 2 <= iw; j += 2)
                cnt += popcount2((a[j] ^ s[j]) & z[j], (a[j + 1] ^ s[j + 1]) & z[j + 1], m);
            if (j < iw) cnt += popcount1((a[j] ^ s[j]) & z[j], m);
            y[o] = out_code(k0[o], a2, cnt, mult[o], shift[o], relu);
        }
    }
}

static inline __attribute__((always_inline)) void
pw_equal(const uint32_t *in, int pixels, int cin, const uint32_t *sign, const uint32_t *nz,
         int32_t alpha, int cout, const trit_requant_t *rq, int8_t *out, int32_t *k0, int relu) {
    const int iw = TRIT_WORDS(cin);
    const swar_masks_t m = swar_masks();
    const int32_t a2 = 2 * alpha;
    const int32_t *const mult = rq->mult, *const shift = rq->shift;
    for (int o = 0; o < cout; ++o)
        k0[o] = alpha * (int32_t)popcount_words(nz + o * iw, iw) + rq->bias[o];
    int px = 0;
    if (iw == 1) {
        for (; px + 2 <= pixels; px += 2) {
            const uint32_t a0 = in[px], a1 = in[px + 1];
            int8_t *y0 = out + px * cout, *y1 = y0 + cout;
            for (int o = 0; o < cout; ++o) {
                const uint32_t s = sign[o], z = nz[o];
                const uint32_t c0 = popcount1((a0 ^ s) & z, m), c1 = popcount1((a1 ^ s) & z, m);
                y0[o] = out_code(k0[o], a2, c0, mult[o], shift[o], relu);
                y1[o] = out_code(k0[o], a2, c1, mult[o], shift[o], relu);
            }
        }
    }
    if (iw == 2)
        pixels_words(in, px, pixels, 2, sign, nz, cout, k0, a2, mult, shift, out, relu, m);
    else if (iw == 3)
        pixels_words(in, px, pixels, 3, sign, nz, cout, k0, a2, mult, shift, out, relu, m);
    else
        pixels_words(in, px, pixels, iw, sign, nz, cout, k0, a2, mult, shift, out, relu, m);
}

void trit_pw_ternary_bin_s8(const uint32_t *in, int pixels, int cin, const uint32_t *sign,
                            const uint32_t *nz, trit_scales_t s, int cout,
                            const trit_requant_t *rq, int8_t *out, int32_t *scratch) {
    if (s.wp != s.wn || (rq->act_min != 0 && rq->act_min != -128)) {
        const int iw = TRIT_WORDS(cin);
        for (int px = 0; px < pixels; ++px)
            for (int o = 0; o < cout; ++o)
                out[px * cout + o] = trit_requant(
                    trit_ternary_bin_acc(in + px * iw, sign + o * iw, nz + o * iw, iw, s), o, rq);
        return;
    }
    if (rq->act_min == 0)
        pw_equal(in, pixels, cin, sign, nz, s.wp, cout, rq, out, scratch, 1);
    else
        pw_equal(in, pixels, cin, sign, nz, s.wp, cout, rq, out, scratch, 0);
}
