/* Private helper of the ARMv7E-M kernels: the 3 x 3 RGB patch (27 int8 products) as 14 int16
 * pair words, and the two-pixel by two-channel SMLAD dot over it (conv_input_s8.c for the
 * binary models' input layer, int8_conv.c for the int8 one). */
#ifndef TRIT_ARMV7EM_RGB3X3_H
#define TRIT_ARMV7EM_RGB3X3_H

#include "acle_dsp.h"
#include <string.h>

/* Copy (src) or clear (src == NULL) n bytes with word moves: no libc call in the pixel loop. */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t v = src ? trit_load_u32(src + i) : 0u;
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; ++i) dst[i] = src ? src[i] : 0;
}

/* 3x3 RGB with weights widened once per call: 27 products as 14 SMLAD over int16 pairs (see
 * widen_rows), for two pixels (pix[0..13] and pix[14..27]) by two output channels (w[14..27],
 * channel o, and w[0..13], channel o - 1): s = {A.o, A.o-1, B.o, B.o-1}. Every LDRD brings two
 * pair words and every loaded word serves two products: 7 x (4 LDRD + 8 SMLAD) = 84
 * instructions per four sums. pix and w must be word aligned (LDRD). */
#define DOT28_STEP(first, wa, wb, pa, pb)                                                       \
    "ldrd %[x0], %[x1], [%[w], #" wa "]\n\t"                                                  \
    "ldrd %[y0], %[y1], [%[w], #" wb "]\n\t"                                                  \
    "ldrd %[p0], %[p1], [%[pix], #" pa "]\n\t"                                                \
    first("a0", "p0", "x0") "smlad %[a0], %[p1], %[x1], %[a0]\n\t"                            \
    first("a1", "p0", "y0") "smlad %[a1], %[p1], %[y1], %[a1]\n\t"                            \
    "ldrd %[p0], %[p1], [%[pix], #" pb "]\n\t"                                                \
    first("b0", "p0", "x0") "smlad %[b0], %[p1], %[x1], %[b0]\n\t"                            \
    first("b1", "p0", "y0") "smlad %[b1], %[p1], %[y1], %[b1]\n\t"
#define DOT28_SMLAD(acc, p, w) "smlad %[" acc "], %[" p "], %[" w "], %[" acc "]\n\t"

/* Two pixels by two channels, each sum started from lo (the channel pair's first, at w) or hi
 * (its second, at w + 14): s = {pixel a hi, pixel a lo, pixel b hi, pixel b lo} plus the
 * products. With negated thresholds as starts, a sum's sign is its output bit. */
static inline void dot28_2x2_from(const uint32_t *pix, const uint32_t *w, int32_t hi,
                                  int32_t lo, int32_t s[4]) {
    int32_t a0 = hi, a1 = lo, b0 = hi, b1 = lo;
    uint32_t x0, x1, y0, y1, p0, p1;
    __asm__(DOT28_STEP(DOT28_SMLAD, "56", "0", "0", "56")
            DOT28_STEP(DOT28_SMLAD, "64", "8", "8", "64")
            DOT28_STEP(DOT28_SMLAD, "72", "16", "16", "72")
            DOT28_STEP(DOT28_SMLAD, "80", "24", "24", "80")
            DOT28_STEP(DOT28_SMLAD, "88", "32", "32", "88")
            DOT28_STEP(DOT28_SMLAD, "96", "40", "40", "96")
            DOT28_STEP(DOT28_SMLAD, "104", "48", "48", "104")
            : [a0] "+&r"(a0), [a1] "+&r"(a1), [b0] "+&r"(b0), [b1] "+&r"(b1), [x0] "=&r"(x0),
              [x1] "=&r"(x1), [y0] "=&r"(y0), [y1] "=&r"(y1), [p0] "=&r"(p0), [p1] "=&r"(p1)
            : [pix] "r"(pix), [w] "r"(w)
            : "memory");
    s[0] = a0;
    s[1] = a1;
    s[2] = b0;
    s[3] = b1;
}

static inline void dot28_2x2(const uint32_t *pix, const uint32_t *w, int32_t s[4]) {
    dot28_2x2_from(pix, w, 0, 0, s);
}

static inline int32_t dot28(const uint32_t *pa, const uint32_t *wa) {
    int32_t a = 0;
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) a = __smlad(pa[i], wa[i], a);
    return a;
}

/* Three rows of 9 bytes (a 3x3 RGB patch or a channel's weights) as 14 int16 pair words,
 * word i at pairs[i * stride]: per row k, bytes 0-7 as (0, 2), (1, 3), (4, 6), (5, 7) in words
 * 4k..4k+3 (the SXTB16 order); then (row 0 byte 8, row 1 byte 8) and (row 2 byte 8, 0).
 * Unaligned word loads. */
static inline __attribute__((always_inline)) void widen_rows_strided(
    const int8_t *r0, const int8_t *r1, const int8_t *r2, uint32_t *pairs, int stride) {
    const int8_t *rows[3] = {r0, r1, r2};
#pragma GCC unroll 3
    for (int k = 0; k < 3; ++k) {
        const uint32_t v0 = trit_load_u32(rows[k]), v1 = trit_load_u32(rows[k] + 4);
        pairs[(4 * k) * stride] = __sxtb16(v0);
        pairs[(4 * k + 1) * stride] = trit_sxtb16_ror8(v0);
        pairs[(4 * k + 2) * stride] = __sxtb16(v1);
        pairs[(4 * k + 3) * stride] = trit_sxtb16_ror8(v1);
    }
    pairs[12 * stride] = (uint32_t)(uint16_t)r0[8] | (uint32_t)(uint16_t)r1[8] << 16;
    pairs[13 * stride] = (uint32_t)(uint16_t)r2[8];
}

static inline void widen_rows(const int8_t *r0, const int8_t *r1, const int8_t *r2,
                              uint32_t *pairs) {
    widen_rows_strided(r0, r1, r2, pairs, 1);
}

/* The 3x3x3 patch whose top-left tap is (y0, x0) as 27 bytes, zero outside the image. */
static inline void patch27(const int8_t *in, int h, int w, int y0, int x0, int8_t patch[28]) {
    for (int ky = 0; ky < 3; ++ky) {
        const int y = y0 + ky;
        int8_t *prow = patch + 9 * ky;
        if (y < 0 || y >= h) {
            copy_bytes(prow, 0, 9);
        } else if (x0 >= 0 && x0 + 3 <= w) {
            copy_bytes(prow, in + (y * w + x0) * 3, 9);
        } else if (x0 == -1 && w >= 2) { /* left border: a zero pixel, then two */
            copy_bytes(prow, 0, 3);
            copy_bytes(prow + 3, in + y * w * 3, 6);
        } else if (x0 >= 0 && x0 + 2 == w) { /* right border: two pixels, then a zero one */
            copy_bytes(prow, in + (y * w + x0) * 3, 6);
            copy_bytes(prow + 6, 0, 3);
        } else {
            for (int kx = 0; kx < 3; ++kx)
                for (int i = 0; i < 3; ++i)
                    prow[3 * kx + i] = (x0 + kx >= 0 && x0 + kx < w) ? in[(y * w + x0 + kx) * 3 + i] : 0;
        }
    }
}

#ifdef __ARM_FEATURE_MVE
#include <arm_mve.h>

/* The 3x3x3 patch whose top-left tap is (y0, x0) as 27 bytes (zero outside the image): inside
 * the image each row's 9 bytes through a predicated load and store (nine: the first 9 lanes). */
static inline void patch27_helium(const int8_t *in, int h, int w, int y0, int x0,
                                  mve_pred16_t nine, int8_t patch[32]) {
    if (y0 >= 0 && y0 + 3 <= h && x0 >= 0 && x0 + 3 <= w) {
        const int8_t *r = in + (y0 * w + x0) * 3;
        vstrbq_p_s8(patch, vldrbq_z_s8(r, nine), nine);
        vstrbq_p_s8(patch + 9, vldrbq_z_s8(r + 3 * w, nine), nine);
        vstrbq_p_s8(patch + 18, vldrbq_z_s8(r + 6 * w, nine), nine);
    } else {
        patch27(in, h, w, y0, x0, patch);
    }
}

/* The patches of two output pixels whose top-left taps are (y0, xa) and (y0, xb) as vectors:
 * pix[0], pix[1] the first one's 27 bytes (16, then 11 under a tail predicate, which `tail`
 * must be), pix[2], pix[3] the second one's. */
static inline __attribute__((always_inline)) void
rgb_pair_helium(const int8_t *in, int h, int w, int y0, int xa, int xb, mve_pred16_t tail,
                int8x16_t pix[4]) {
    const mve_pred16_t nine = vctp8q(9);
    int8_t pa[32], pb[32];
    patch27_helium(in, h, w, y0, xa, nine, pa);
    patch27_helium(in, h, w, y0, xb, nine, pb);
    pix[0] = vld1q_s8(pa);
    pix[1] = vldrbq_z_s8(pa + 16, tail);
    pix[2] = vld1q_s8(pb);
    pix[3] = vldrbq_z_s8(pb + 16, tail);
}
#endif

/* The patch whose top-left tap is (y0, x0), widened (widen_rows_strided, word i at
 * pairs[i * stride]): straight from the image rows inside it, through a zero-padded copy at
 * the border. */
static inline void gather28_strided(const int8_t *in, int h, int w, int y0, int x0,
                                    uint32_t *pairs, int stride) {
    if (y0 >= 0 && y0 + 3 <= h && x0 >= 0 && x0 + 3 <= w) {
        const int8_t *r0 = in + (y0 * w + x0) * 3;
        widen_rows_strided(r0, r0 + 3 * w, r0 + 6 * w, pairs, stride);
        return;
    }
    int8_t patch[28];
    patch27(in, h, w, y0, x0, patch);
    widen_rows_strided(patch, patch + 9, patch + 18, pairs, stride);
}

static inline void gather28(const int8_t *in, int h, int w, int y0, int x0, uint32_t *pairs) {
    gather28_strided(in, h, w, y0, x0, pairs, 1);
}

#endif
