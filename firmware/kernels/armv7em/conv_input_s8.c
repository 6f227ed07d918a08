/* ARMv7E-M flavour: the input convolution, int8 pixels x int8 weights -> binary, with SMLAD.
 *
 * Per output pixel the k x k x cin patch (n bytes, HWC order, zero outside the image) is
 * gathered once and widened into int16 pairs for SMLAD: for patch bytes 4g..4g+3, word 2g
 * holds (byte 4g, byte 4g+2) and word 2g+1 holds (4g+1, 4g+3), the order SXTB16 gives when
 * the weights are read four bytes at a time (bytes 0,2, then 1,3 after a rotation). Each output
 * channel then costs one load, two SXTB16 and two SMLAD per four products; the n % 4 last
 * products are plain multiply-adds. The 3x3 RGB layer (27 products, up to 32 output channels)
 * widens its weights once per call instead (widen_rows: 14 pair words per channel, scratch) and
 * runs two pixels by three channels per pass in a naked Thumb-2 function (rgb_pair_triples;
 * where the scratch cannot hold its weight stream, two by two channels with LDRD in inline
 * assembly: GCC spills the operands of the C form); Helium uses VMLADAV. */
#include "acle_dsp.h"
#include <string.h>

#include "rgb3x3.h"
#include "trit/kernels.h"

/* 3x3 x 3-channel patch (27 products): six SMLAD pairs of groups and a 3-product tail. */
static inline int32_t dot27(const uint32_t *pairs, int32_t r0, int32_t r1, int32_t r2,
                            const int8_t *wt) {
    int32_t sum = r0 * wt[24] + r1 * wt[25] + r2 * wt[26];
#pragma GCC unroll 6
    for (int g = 0; g < 6; ++g) {
        const uint32_t wv = trit_load_u32(wt + 4 * g);
        sum = __smlad(pairs[2 * g], __sxtb16(wv), sum);
        sum = __smlad(pairs[2 * g + 1], trit_sxtb16_ror8(wv), sum);
    }
    return sum;
}

/* Two output channels of the 27-product patch at once: each patch pair is loaded once. */
static inline void dot27x2(const uint32_t *pairs, int32_t r0, int32_t r1, int32_t r2,
                           const int8_t *wa, const int8_t *wb, int32_t *sa, int32_t *sb) {
    int32_t a = r0 * wa[24] + r1 * wa[25] + r2 * wa[26];
    int32_t b = r0 * wb[24] + r1 * wb[25] + r2 * wb[26];
#pragma GCC unroll 6
    for (int g = 0; g < 6; ++g) {
        const uint32_t p0 = pairs[2 * g], p1 = pairs[2 * g + 1];
        const uint32_t va = trit_load_u32(wa + 4 * g), vb = trit_load_u32(wb + 4 * g);
        a = __smlad(p0, __sxtb16(va), a);
        a = __smlad(p1, trit_sxtb16_ror8(va), a);
        b = __smlad(p0, __sxtb16(vb), b);
        b = __smlad(p1, trit_sxtb16_ror8(vb), b);
    }
    *sa = a;
    *sb = b;
}

#ifdef __ARM_FEATURE_MVE
#include <arm_mve.h>

/* Helium: two pixels at a time, each output channel's 27 products per pixel as two VMLADAV (16
 * lanes, then 11 under a tail predicate, so neither patch nor weights need padding), both
 * pixels on one load of the channel's weights; every sum starts from the channel's negated
 * adjusted threshold (start), so its sign bit is the output bit before the direction flip.
 * Not inlined: inside trit_conv_input_s8 GCC spills the predicate and the threshold in the
 * channel loop. */
__attribute__((noinline)) static void conv3x3_rgb_helium(const int8_t *in, int h, int w,
                                                        const int8_t *weights, int cout,
                                                        int stride, int pad,
                                                        const int32_t *start, uint32_t negative,
                                                        uint32_t *out) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    const mve_pred16_t tail = vctp8q(11);
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ox += 2) {
            const int two = ox + 1 < ow; /* a lone last pixel is computed twice, stored once */
            int8x16_t pix[4];
            rgb_pair_helium(in, h, w, oy * stride - pad, ox * stride - pad,
                            (ox + two) * stride - pad, tail, pix);
            const int8x16_t a0 = pix[0], a1 = pix[1], b0 = pix[2], b1 = pix[3];
            uint32_t wa = 0, wb = 0; /* built from the last channel down */
            const int8_t *wt = weights + cout * 27;
            const int32_t *st = start + cout;
            for (int n = cout; n > 0; --n) {
                wt -= 27;
                const int32_t s0 = *--st;
                const int8x16_t w0 = vld1q_s8(wt), w1 = vldrbq_z_s8(wt + 16, tail);
                const int32_t sa = vmladavaq_s8(vmladavaq_s8(s0, a0, w0), a1, w1);
                const int32_t sb = vmladavaq_s8(vmladavaq_s8(s0, b0, w0), b1, w1);
                wa = (wa << 1) | ((uint32_t)sa >> 31);
                wb = (wb << 1) | ((uint32_t)sb >> 31);
            }
            out[oy * ow + ox] = wa ^ negative;
            if (two) out[oy * ow + ox + 1] = wb ^ negative;
        }
}
#endif

/* 3x3 RGB input layer, output channels <= 32 (one output word), weights widened once per call
 * into wide[cout][14]: two pixels by two channels per pass, each sum started from its
 * channel's negated adjusted threshold (start[o] = -adjusted[o]) so that its sign bit is the
 * output bit before the direction flip. */
static void conv3x3_rgb_wide(const int8_t *in, int h, int w, const uint32_t *wide, int cout,
                             int stride, int pad, const int32_t *start, uint32_t negative,
                             uint32_t *out) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    uint32_t pix[28]; /* two widened patches: pixel ox at 0..13, ox + 1 at 14..27 */
    uint32_t *pa = pix, *pb = pix + 14;
    int32_t s4[4];
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad;
        for (int ox = 0; ox < ow; ox += 2) {
            const int two = ox + 1 < ow;
            gather28(in, h, w, y0, ox * stride - pad, pa);
            if (two) gather28(in, h, w, y0, (ox + 1) * stride - pad, pb);
            else
                for (int i = 0; i < 14; ++i) pb[i] = 0;
            uint32_t wa = 0, wb = 0; /* built from the last channel down */
            int o = cout - 1;
            for (; o >= 1; o -= 2) {
                dot28_2x2_from(pix, wide + 14 * (o - 1), start[o], start[o - 1], s4);
                wa = (wa << 2) | (((uint32_t)s4[0] >> 31) << 1) | ((uint32_t)s4[1] >> 31);
                wb = (wb << 2) | (((uint32_t)s4[2] >> 31) << 1) | ((uint32_t)s4[3] >> 31);
            }
            if (o == 0) {
                wa = (wa << 1) | ((uint32_t)(dot28(pa, wide) + start[0]) >> 31);
                wb = (wb << 1) | ((uint32_t)(dot28(pb, wide) + start[0]) >> 31);
            }
            out[oy * ow + ox] = wa ^ negative;
            if (two) out[oy * ow + ox + 1] = wb ^ negative;
        }
    }
}

#if defined(__GNUC__) && defined(__thumb2__) && !defined(__ARM_FEATURE_MVE)
#define RGB_TRIPLES_ASM 1
/* The 3x3 RGB layer two pixels by three channels per pass in Thumb-2 assembly (a naked
 * function: every register but sp and pc holds a value). pix: the two pixels' widened
 * patches interleaved, word 2 i = pixel 0's pair word i, 2 i + 1 = pixel 1's (widen_rows
 * order, 14 pair words each). w .. w_end: the weight stream, per channel triple (c2, c1, c0),
 * highest triple first, RGB_TRIPLE_WORDS words: the starts (negated adjusted thresholds)
 * {s2, s1, s0, s2, s1, s0}, then per pair word i {w2[i], w1[i], w0[i]}. Per pass one LDM of
 * six starts, 14 x (LDRD of the pixels' pair words, LDM of three weight words, six SMLAD),
 * the six sums' sign bits shifted into the two pixels' words: 129 instructions for six
 * 27-product sums. bits[0], bits[1]: the two pixels' words, the last triple's channel c0 in
 * bit 0 (channels past the layer's in the high bits, for the caller to clear). */
#define RGB_TRIPLE_WORDS 48
#define RGB_STEP(off)                                                                          \
    "ldrd r2, r3, [r0, #" off "]\n\t"                                                          \
    "ldmia r1!, {r4, r5, r6}\n\t"                                                              \
    "smlad r7, r2, r4, r7\n\t"                                                                 \
    "smlad r8, r2, r5, r8\n\t"                                                                 \
    "smlad r9, r2, r6, r9\n\t"                                                                 \
    "smlad r10, r3, r4, r10\n\t"                                                               \
    "smlad r11, r3, r5, r11\n\t"                                                               \
    "smlad r12, r3, r6, r12\n\t"
#define RGB_BIT(word, acc)                                                                     \
    "lsrs r4, " acc ", #31\n\t"                                                                \
    "add " word ", r4, " word ", lsl #1\n\t"
#define RGB_ARG __attribute__((unused)) /* read by the assembly: r0..r3 */
__attribute__((naked, noinline)) static void rgb_pair_triples(RGB_ARG const uint32_t *pix,
                                                             RGB_ARG const uint32_t *w,
                                                             RGB_ARG const uint32_t *w_end,
                                                             RGB_ARG uint32_t *bits) {
    __asm__ volatile(
        "push {r3, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t" /* [sp]: bits */
        "sub sp, sp, #8\n\t"                                  /* the two words */
        "mov lr, r2\n\t"
        "movs r2, #0\n\t"
        "movs r3, #0\n\t"
        "strd r2, r3, [sp]\n\t"
        "1:\n\t"
        "ldmia r1!, {r7, r8, r9, r10, r11, r12}\n\t"
        RGB_STEP("0") RGB_STEP("8") RGB_STEP("16") RGB_STEP("24") RGB_STEP("32")
        RGB_STEP("40") RGB_STEP("48") RGB_STEP("56") RGB_STEP("64") RGB_STEP("72")
        RGB_STEP("80") RGB_STEP("88") RGB_STEP("96") RGB_STEP("104")
        "ldrd r2, r3, [sp]\n\t"
        RGB_BIT("r2", "r7") RGB_BIT("r2", "r8") RGB_BIT("r2", "r9")
        RGB_BIT("r3", "r10") RGB_BIT("r3", "r11") RGB_BIT("r3", "r12")
        "strd r2, r3, [sp]\n\t"
        "cmp r1, lr\n\t"
        "bne 1b\n\t"
        "ldr r4, [sp, #8]\n\t"
        "strd r2, r3, [r4]\n\t"
        "add sp, sp, #8\n\t"
        "pop {r3, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}
#undef RGB_STEP
#undef RGB_BIT
#undef RGB_ARG

/* The weight stream of rgb_pair_triples for cout channels (weights [cout][27], starts [cout]):
 * ceil(cout / 3) triples, channels past cout with zero weights and starts. */
static void rgb_triple_stream(const int8_t *weights, const int32_t *start, int cout,
                              uint32_t *stream) {
    const int triples = (cout + 2) / 3;
    for (int t = triples - 1; t >= 0; --t, stream += RGB_TRIPLE_WORDS) {
        for (int j = 0; j < 3; ++j) { /* slot j: channel 3 t + 2 - j */
            const int o = 3 * t + 2 - j;
            stream[j] = stream[j + 3] = o < cout ? (uint32_t)start[o] : 0u;
            if (o < cout) {
                const int8_t *wt = weights + o * 27;
                widen_rows_strided(wt, wt + 9, wt + 18, stream + 6 + j, 3);
            } else {
                for (int i = 0; i < 14; ++i) stream[6 + 3 * i + j] = 0;
            }
        }
    }
}

/* 3x3 RGB input layer, output channels <= 32, through rgb_pair_triples: two pixels per pass
 * (a lone last pixel of a row computed beside zeros, stored alone). pix: 28 words. */
static void conv3x3_rgb_triples(const int8_t *in, int h, int w, const uint32_t *stream,
                                int cout, int stride, int pad, uint32_t negative,
                                uint32_t *out, uint32_t *pix) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    const uint32_t *end = stream + RGB_TRIPLE_WORDS * ((cout + 2) / 3);
    const uint32_t lanes = cout == 32 ? ~0u : (1u << cout) - 1u;
    uint32_t bits[2];
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad, rows_inside = y0 >= 0 && y0 + 3 <= h;
        for (int ox = 0; ox < ow; ox += 2) {
            const int two = ox + 1 < ow, x0 = ox * stride - pad;
            if (two && rows_inside && x0 >= 0 && x0 + stride + 3 <= w) {
                /* both windows inside the image: straight from its rows */
                const int8_t *r = in + (y0 * w + x0) * 3, *q = r + 3 * stride;
                widen_rows_strided(r, r + 3 * w, r + 6 * w, pix, 2);
                widen_rows_strided(q, q + 3 * w, q + 6 * w, pix + 1, 2);
            } else {
                gather28_strided(in, h, w, y0, x0, pix, 2);
                if (two) gather28_strided(in, h, w, y0, x0 + stride, pix + 1, 2);
                else
                    for (int i = 0; i < 14; ++i) pix[2 * i + 1] = 0;
            }
            rgb_pair_triples(pix, stream, end, bits);
            out[oy * ow + ox] = (bits[0] & lanes) ^ negative;
            if (two) out[oy * ow + ox + 1] = (bits[1] & lanes) ^ negative;
        }
    }
}
#endif

/* One output channel's sum over a widened patch (general k and cin). */
static inline int32_t dot_s8(const uint32_t *pairs, const int8_t *rest, const int8_t *wt,
                             int groups, int tail) {
    int32_t sum = 0;
    int g = 0;
    for (; g + 2 <= groups; g += 2) {
        const uint32_t w0 = trit_load_u32(wt + 4 * g), w1 = trit_load_u32(wt + 4 * g + 4);
        sum = __smlad(pairs[2 * g], __sxtb16(w0), sum);
        sum = __smlad(pairs[2 * g + 1], trit_sxtb16_ror8(w0), sum);
        sum = __smlad(pairs[2 * g + 2], __sxtb16(w1), sum);
        sum = __smlad(pairs[2 * g + 3], trit_sxtb16_ror8(w1), sum);
    }
    if (g < groups) {
        const uint32_t w0 = trit_load_u32(wt + 4 * g);
        sum = __smlad(pairs[2 * g], __sxtb16(w0), sum);
        sum = __smlad(pairs[2 * g + 1], trit_sxtb16_ror8(w0), sum);
    }
    for (int t = 0; t < tail; ++t) sum += rest[t] * wt[4 * groups + t];
    return sum;
}

void trit_conv_input_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                        int cout, int k, int stride, int pad, const trit_threshold_t *thr,
                        uint32_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int ow_words = TRIT_WORDS(cout), row_bytes = k * cin;
    const int n = k * row_bytes, groups = n / 4, tail = n - 4 * groups;
    /* scratch: pairs [2 * groups], then the raw patch bytes (n, rounded up to words) */
    uint32_t *pairs = (uint32_t *)scratch;
    int8_t *patch = (int8_t *)(pairs + 2 * groups);
    const int need = 2 * groups + (n + 3) / 4;
    const int cols = thr->has_residual ? 3 : 1, col = thr->has_residual ? 1 : 0;
    /* n == 27 (3x3 RGB): per-channel thresholds adjusted so that one signed compare gives the
     * bit before the direction flip: sum < t (direction +1), sum < t + 1 (direction -1, then
     * inverted); clamped to +-2^30, beyond any 27-product sum */
    int32_t *adjusted = 0;
    if (n == 27 && need + cout <= TRIT_SCRATCH_INTS(cout)) {
        adjusted = scratch + need;
        for (int o = 0; o < cout; ++o) {
            int64_t t = (int64_t)trit_threshold_at(thr, o * cols + col) +
                        ((thr->negative[o >> 5] >> (o & 31)) & 1u);
            if (t > (1 << 30)) t = 1 << 30;
            if (t < -(1 << 30)) t = -(1 << 30);
            adjusted[o] = (int32_t)t;
        }
    }
    if (adjusted && k == 3 && cin == 3 && cout <= 32) {
#ifdef __ARM_FEATURE_MVE
        for (int o = 0; o < cout; ++o) adjusted[o] = -adjusted[o]; /* the sums' starts */
        conv3x3_rgb_helium(in, h, w, weights, cout, stride, pad, adjusted, thr->negative[0], out);
        return;
#endif
#ifdef RGB_TRIPLES_ASM
        /* the weight stream, then the two pixels' patches, after the starts */
        uint32_t *stream = (uint32_t *)(adjusted + cout);
        uint32_t *pix = stream + RGB_TRIPLE_WORDS * ((cout + 2) / 3);
        if ((int)(pix + 28 - (uint32_t *)scratch) <= TRIT_SCRATCH_INTS(cout)) {
            for (int o = 0; o < cout; ++o) adjusted[o] = -adjusted[o]; /* the sums' starts */
            rgb_triple_stream(weights, adjusted, cout, stream);
            conv3x3_rgb_triples(in, h, w, stream, cout, stride, pad, thr->negative[0], out,
                                pix);
            return;
        }
#endif
        /* the widened weights after the starts (they fit for cout <= 32) */
        uint32_t *wide = (uint32_t *)(adjusted + cout);
        if ((int)(wide + 14 * cout - (uint32_t *)scratch) <= TRIT_SCRATCH_INTS(cout)) {
            for (int o = 0; o < cout; ++o) {
                const int8_t *wt = weights + o * 27;
                widen_rows(wt, wt + 9, wt + 18, wide + 14 * o);
            }
            for (int o = 0; o < cout; ++o) adjusted[o] = -adjusted[o]; /* the sums' starts */
            conv3x3_rgb_wide(in, h, w, wide, cout, stride, pad, adjusted, thr->negative[0], out);
            return;
        }
    }
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            int32_t acc[32];
            uint32_t *dst = out + (oy * ow + ox) * ow_words;
            if (need > TRIT_SCRATCH_INTS(cout)) { /* patch too large for scratch: plain loops */
                for (int o0 = 0; o0 < cout; o0 += 32) {
                    uint32_t word = 0;
                    for (int o = o0; o < cout && o < o0 + 32; ++o) {
                        int32_t sum = 0;
                        for (int ky = 0; ky < k; ++ky)
                            for (int kx = 0; kx < k; ++kx) {
                                const int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                                if (y < 0 || y >= h || x < 0 || x >= w) continue;
                                for (int i = 0; i < cin; ++i)
                                    sum += in[(y * w + x) * cin + i] *
                                           weights[((o * k + ky) * k + kx) * cin + i];
                            }
                        acc[o - o0] = sum;
                    }
                    for (int o = o0; o < cout && o < o0 + 32; ++o) {
                        const int32_t t = trit_threshold_at(thr, o * cols + col);
                        const int neg = (int)((thr->negative[o >> 5] >> (o & 31)) & 1u);
                        word |= (uint32_t)(neg ? acc[o - o0] > t : acc[o - o0] < t) << (o & 31);
                    }
                    dst[o0 >> 5] = word;
                }
                continue;
            }
            /* gather: k rows of k * cin contiguous bytes, zero outside the image */
            for (int ky = 0; ky < k; ++ky) {
                const int y = oy * stride + ky - pad, x0 = ox * stride - pad;
                int8_t *prow = patch + ky * row_bytes;
                if (y < 0 || y >= h) {
                    copy_bytes(prow, 0, row_bytes);
                } else if (x0 >= 0 && x0 + k <= w) {
                    copy_bytes(prow, in + (y * w + x0) * cin, row_bytes);
                } else {
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = x0 + kx;
                        for (int i = 0; i < cin; ++i)
                            prow[kx * cin + i] = (x >= 0 && x < w) ? in[(y * w + x) * cin + i] : 0;
                    }
                }
            }
            for (int g = 0; g < groups; ++g) {
                const uint32_t p = trit_load_u32(patch + 4 * g);
                pairs[2 * g] = __sxtb16(p);
                pairs[2 * g + 1] = trit_sxtb16_ror8(p);
            }
            const int8_t *rest = patch + 4 * groups;
            if (adjusted) { /* the RGB 3x3 input layer: unrolled, branch-free compare */
                const int32_t r0 = rest[0], r1 = rest[1], r2 = rest[2];
                for (int o0 = 0; o0 < cout; o0 += 32) {
                    const int o_end = o0 + 32 < cout ? o0 + 32 : cout;
                    uint32_t word = 0; /* built from the last channel down */
                    int o = o_end - 1;
                    for (; o - 1 >= o0; o -= 2) {
                        int32_t hi, lo;
                        dot27x2(pairs, r0, r1, r2, weights + o * 27, weights + (o - 1) * 27, &hi, &lo);
                        word = (word << 1) | ((uint32_t)(hi - adjusted[o]) >> 31);
                        word = (word << 1) | ((uint32_t)(lo - adjusted[o - 1]) >> 31);
                    }
                    if (o >= o0) {
                        const int32_t sum = dot27(pairs, r0, r1, r2, weights + o * 27);
                        word = (word << 1) | ((uint32_t)(sum - adjusted[o]) >> 31);
                    }
                    dst[o0 >> 5] = word ^ thr->negative[o0 >> 5];
                }
                continue;
            }
            for (int o0 = 0; o0 < cout; o0 += 32) {
                uint32_t word = 0;
                const int o_end = o0 + 32 < cout ? o0 + 32 : cout;
                for (int o = o0; o < o_end; ++o) {
                    const int32_t sum = dot_s8(pairs, rest, weights + o * n, groups, tail);
                    const int32_t t = trit_threshold_at(thr, o * cols + col);
                    /* -1 when the comparison fails: sum < t (direction +) or sum > t (-) */
                    const int neg = (int)((thr->negative[o >> 5] >> (o & 31)) & 1u);
                    word |= (uint32_t)(neg ? sum > t : sum < t) << (o & 31);
                }
                dst[o0 >> 5] = word;
            }
        }
    }
}
