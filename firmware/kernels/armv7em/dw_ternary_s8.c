/* ARMv7E-M flavour: depthwise ternary x int8 convolution with requantised int8 outputs
 * (int8-activation models, IR v2; kernels.h).
 * - 3 x 3, wp == wn, act_min 0 or -128 and a multiple of 4 channels (the models' case): the
 *   codes are widened once per call into int16 pairs, [group of 4 channels][tap] x 2 words
 *   (channels 0 and 2, then 1 and 3, SXTB16 order); four channels per input word with
 *   SMLABB / SMLATT, the nine taps unrolled where the window lies inside the image, and the
 *   requantisation ends in one saturation (requant_sat).
 * - other wp == wn layers: the int8 depthwise kernel on the codes, each sum times wp.
 * - unequal scales: P and N summed apart. */
#include "int8_dot.h"
#include "trit/kernels.h"

/* Sums of one group of 4 channels over the window rows ky0..ky1-1 and columns kx0..kx1-1;
 * `a` points at the window's top-left input (channel 4g), wg at the group's widened codes. */
static void group_sums(const int8_t *a, int row_bytes, int c, const uint32_t *wg, int ky0,
                       int ky1, int kx0, int kx1, int32_t s[4]) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int ky = ky0; ky < ky1; ++ky)
        for (int kx = kx0; kx < kx1; ++kx) {
            const uint32_t av = trit_load_u32(a + ky * row_bytes + kx * c);
            const uint32_t a02 = __sxtb16(av), a13 = trit_sxtb16_ror8(av);
            const uint32_t w02 = wg[2 * (3 * ky + kx)], w13 = wg[2 * (3 * ky + kx) + 1];
            s0 = __smlabb(a02, w02, s0);
            s2 = __smlatt(a02, w02, s2);
            s1 = __smlabb(a13, w13, s1);
            s3 = __smlatt(a13, w13, s3);
        }
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
}

/* One tap of group_sums_full: the input word at address `at`, its bytes 0, 2 and 1, 3
 * widened, the tap's two code words by LDRD (post-increment), four SMLAxy. */
#define TAP(at)                                                                                \
    "ldr %[av], " at "\n\t"                                                                   \
    "ldrd %[w02], %[w13], [%[wg]], #8\n\t"                                                    \
    "sxtb16 %[a13], %[av], ror #8\n\t"                                                        \
    "sxtb16 %[av], %[av]\n\t"                                                                 \
    "smlabb %[s0], %[av], %[w02], %[s0]\n\t"                                                  \
    "smlatt %[s2], %[av], %[w02], %[s2]\n\t"                                                  \
    "smlabb %[s1], %[a13], %[w13], %[s1]\n\t"                                                 \
    "smlatt %[s3], %[a13], %[w13], %[s3]\n\t"

/* group_sums over the whole 3 x 3 window, the nine taps unrolled in inline assembly (GCC's
 * version of the same C kept a register per tap address and spilled). wg is word aligned. */
static inline __attribute__((always_inline)) void
group_sums_full(const int8_t *a, int row_bytes, int c, const uint32_t *wg, int32_t s[4]) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t av, a13, w02, w13;
    const int c2 = 2 * c;
    __asm__(TAP("[%[a]]") TAP("[%[a], %[c]]") TAP("[%[a], %[c2]]")
            "add %[a], %[a], %[rb]\n\t"
            TAP("[%[a]]") TAP("[%[a], %[c]]") TAP("[%[a], %[c2]]")
            "add %[a], %[a], %[rb]\n\t"
            TAP("[%[a]]") TAP("[%[a], %[c]]") TAP("[%[a], %[c2]]")
            : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [a] "+r"(a),
              [wg] "+r"(wg), [av] "=&r"(av), [a13] "=&r"(a13), [w02] "=&r"(w02),
              [w13] "=&r"(w13)
            : [c] "r"(c), [c2] "r"(c2), [rb] "r"(row_bytes)
            : "memory");
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
}
#undef TAP

/* Requantise four channels' sums into y[0..3]. */
static inline __attribute__((always_inline)) void
store4(int8_t *y, const int32_t r[4], int32_t wp, const int32_t *bias, const int32_t *mult,
       const int32_t *shift, int relu) {
    y[0] = (int8_t)requant_sat(wp * r[0], bias[0], mult[0], shift[0], relu);
    y[1] = (int8_t)requant_sat(wp * r[1], bias[1], mult[1], shift[1], relu);
    y[2] = (int8_t)requant_sat(wp * r[2], bias[2], mult[2], shift[2], relu);
    y[3] = (int8_t)requant_sat(wp * r[3], bias[3], mult[3], shift[3], relu);
}

static inline __attribute__((always_inline)) void
dw3_rows(const int8_t *in, int h, int w, int c, const uint32_t *wt, int32_t wp, int stride,
         int pad, const trit_requant_t *rq, int8_t *out, int relu) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    const int32_t *const bias = rq->bias, *const mult = rq->mult, *const shift = rq->shift;
    int32_t r[4];
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad;
        const int ky0 = y0 < 0 ? -y0 : 0, ky1 = y0 + 3 > h ? h - y0 : 3;
        for (int ox = 0; ox < ow; ++ox) {
            const int x0 = ox * stride - pad;
            const int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + 3 > w ? w - x0 : 3;
            const int full = ky0 == 0 && ky1 == 3 && kx0 == 0 && kx1 == 3;
            const int8_t *a = in + (y0 * w + x0) * c;
            int8_t *y = out + (oy * ow + ox) * c;
            for (int ch = 0; ch < c; ch += 4) {
                if (full)
                    group_sums_full(a + ch, w * c, c, wt + 18 * (ch / 4), r);
                else
                    group_sums(a + ch, w * c, c, wt + 18 * (ch / 4), ky0, ky1, kx0, kx1, r);
                store4(y + ch, r, wp, bias + ch, mult + ch, shift + ch, relu);
            }
        }
    }
}

void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    if (s.wp == s.wn && k == 3 && c % 4 == 0 && 18 * (c / 4) <= TRIT_SCRATCH_INTS(c) &&
        (rq->act_min == 0 || rq->act_min == -128)) {
        uint32_t *const wt = (uint32_t *)scratch;
        for (int g = 0; g < c / 4; ++g)
            for (int t = 0; t < 9; ++t)
                for (int half = 0; half < 2; ++half) {
                    const int8_t lo = codes[(4 * g + half) * 9 + t],
                                 hi = codes[(4 * g + half + 2) * 9 + t];
                    wt[18 * g + 2 * t + half] = (uint16_t)lo | (uint32_t)(uint16_t)hi << 16;
                }
        if (rq->act_min == 0)
            dw3_rows(in, h, w, c, wt, s.wp, stride, pad, rq, out, 1);
        else
            dw3_rows(in, h, w, c, wt, s.wp, stride, pad, rq, out, 0);
        return;
    }
    if (s.wp == s.wn) {
        trit_armv7em_dw_s8_scaled(in, h, w, c, codes, s.wp, k, stride, pad, rq, out, scratch);
        return;
    }
    /* unequal scales: per output pixel, P and N of every channel in the scratch, taps outer */
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    int32_t *const pos = scratch, *const neg = scratch + c; /* 2 c <= TRIT_SCRATCH_INTS(c) */
    for (int p = 0; p < oh * ow; ++p) {
        const int oy = p / ow, ox = p % ow;
        for (int ch = 0; ch < c; ++ch) pos[ch] = neg[ch] = 0;
        for (int t = 0; t < k * k; ++t) {
            const int y = oy * stride + t / k - pad, x = ox * stride + t % k - pad;
            if ((unsigned)y >= (unsigned)h || (unsigned)x >= (unsigned)w) continue;
            const int8_t *src = in + (y * w + x) * c;
            for (int ch = 0; ch < c; ++ch) {
                const int8_t code = codes[ch * k * k + t];
                if (code > 0) pos[ch] += src[ch];
                else if (code < 0) neg[ch] += src[ch];
            }
        }
        for (int ch = 0; ch < c; ++ch)
            out[p * c + ch] = trit_requant(s.wp * pos[ch] - s.wn * neg[ch], ch, rq);
    }
}
