/* NEON flavour: pointwise ternary x int8 convolution with requantised int8 outputs, for
 * int8-activation models (IR v2, kernels.h).
 *
 * The codes are unpacked once per call into int8 rows (and |codes| for unequal scales). Two
 * pixels by four output channels per pass: per 16 inputs one load per pixel and per row and two
 * VMLAL.S8 per pixel-channel pair into int16 lanes (|code * x| <= 128, so a lane holds up to
 * 255 products: inputs up to 1,024); the inputs past the last multiple of 16 as one more chunk
 * of 16 or 8 that ends at the last input, its codes zero where the chunk overlaps inputs
 * already counted. Each pixel's four int16 accumulators are added pairwise into the sums
 * d = P - N (and t = P + N) of its four channels, acc = wp d (or wp P - wn N), requantised as
 * one vector and stored as four bytes; the channels past the last multiple of 4 as one more
 * group that ends at the last channel. Layers of fewer than 8 inputs or 4 outputs, or of more
 * than 1,024 inputs, take the portable loop. */
#include <string.h>

#include "neon_util.h"

#define MAX_INPUTS 1024

/* Where a row's chunks lie: `full` chunks of 16 from input 0, then a tail of tail_len (0, 8 or
 * 16) inputs from input tail_at; a row is 16 full + tail_len code bytes. */
typedef struct {
    int full, tail_at, tail_len, row;
} chunks_t;

static chunks_t chunks_of(int cin) {
    chunks_t c = {cin / 16, 0, 0, 0};
    const int rem = cin % 16;
    if (rem > 8 && c.full == 0) { /* 9..15 inputs: a chunk of 8, then the tail of 8 */
        c.tail_len = 8;
        c.tail_at = cin - 8;
        c.row = 16; /* codes 0..7, then the tail's 8 */
        return c;
    }
    if (rem) {
        c.tail_len = rem > 8 ? 16 : 8;
        c.tail_at = cin - c.tail_len;
    }
    c.row = 16 * c.full + c.tail_len;
    return c;
}

/* One output channel's codes (or |codes|) laid out as chunks_of says. */
static void code_row(const uint32_t *sign, const uint32_t *nz, int o, int cin, chunks_t c,
                     int absolute, int8_t *row) {
    const int nw = TRIT_WORDS(cin);
    int8_t codes[MAX_INPUTS];
    for (int i = 0; i < cin; ++i) {
        const uint32_t bit = 1u << (i % 32);
        const int non_zero = (nz[o * nw + i / 32] & bit) != 0;
        const int negative = !absolute && (sign[o * nw + i / 32] & bit) != 0;
        codes[i] = (int8_t)(non_zero ? (negative ? -1 : 1) : 0);
    }
    const int head = c.full ? 16 * c.full : cin < 16 && cin > 8 ? 8 : 0; /* counted before */
    memcpy(row, codes, (size_t)head);
    for (int j = 0; j < c.tail_len; ++j) {
        const int i = c.tail_at + j;
        row[c.row - c.tail_len + j] = i < head ? 0 : codes[i];
    }
}

/* The products of 16 inputs x with 16 codes w added into the int16 lanes of acc. */
static inline int16x8_t mla16(int16x8_t acc, int8x16_t x, int8x16_t w) {
    return mlal_high_s8(vmlal_s8(acc, vget_low_s8(x), vget_low_s8(w)), x, w);
}

/* The int16 lanes of pixel x's products with four code rows r over one chunk of n (16 or 8)
 * inputs at x + off, codes at r[q] + at, added into acc[q]. */
static inline __attribute__((always_inline)) void chunk4(int16x8_t acc[4], const int8_t *x,
                                                         int off, const int8_t *const r[4],
                                                         int at, const int n) {
    if (n == 16) {
        const int8x16_t v = vld1q_s8(x + off);
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) acc[q] = mla16(acc[q], v, vld1q_s8(r[q] + at));
    } else {
        const int8x8_t v = vld1_s8(x + off);
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) acc[q] = vmlal_s8(acc[q], v, vld1_s8(r[q] + at));
    }
}

/* Four int16 accumulators' lane sums as one int32x4 (lane q: accumulator q). */
static inline int32x4_t reduce4(const int16x8_t acc[4]) {
    return pairwise_s32(pairwise_s32(vpaddlq_s16(acc[0]), vpaddlq_s16(acc[1])),
                        pairwise_s32(vpaddlq_s16(acc[2]), vpaddlq_s16(acc[3])));
}

/* The sums of pixels a and b with four code rows r: sa[q] = a . r[q], sb[q] = b . r[q]. */
static inline __attribute__((always_inline)) void sums2x4(const int8_t *a, const int8_t *b,
                                                          const int8_t *const r[4], chunks_t c,
                                                          int32x4_t *sa, int32x4_t *sb) {
    int16x8_t aa[4], bb[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) aa[q] = bb[q] = vdupq_n_s16(0);
    for (int j = 0; j < c.full; ++j) {
        chunk4(aa, a, 16 * j, r, 16 * j, 16);
        chunk4(bb, b, 16 * j, r, 16 * j, 16);
    }
    const int at = c.row - c.tail_len; /* the tail's codes in the row */
    if (c.tail_len == 16) {
        chunk4(aa, a, c.tail_at, r, at, 16);
        chunk4(bb, b, c.tail_at, r, at, 16);
    } else if (c.tail_len == 8) {
        if (at == 8) { /* 9..15 inputs: their first 8 */
            chunk4(aa, a, 0, r, 0, 8);
            chunk4(bb, b, 0, r, 0, 8);
        }
        chunk4(aa, a, c.tail_at, r, at, 8);
        chunk4(bb, b, c.tail_at, r, at, 8);
    }
    *sa = reduce4(aa);
    *sb = reduce4(bb);
}

/* acc = wp d, or wp P - wn N with P = (t + d) / 2, N = (t - d) / 2 (exact: t + d = 2 P). */
static inline int32x4_t ternary_acc4(int32x4_t d, int32x4_t t, trit_scales_t s, int equal) {
    if (equal) return vmulq_n_s32(d, s.wp);
    return vmlsq_n_s32(vmulq_n_s32(vshrq_n_s32(vaddq_s32(t, d), 1), s.wp),
                       vshrq_n_s32(vsubq_s32(t, d), 1), s.wn);
}

void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    (void)scratch; /* the code rows live on the stack (Linux) */
    if (cin < 8 || cin > MAX_INPUTS || cout < 4) {
        trit_pw_ternary_s8_loops(in, pixels, cin, sign, nz, s, cout, rq, out);
        return;
    }
    const chunks_t c = chunks_of(cin);
    const int equal = s.wp == s.wn;
    int8_t rows[cout][c.row], abs_rows[equal ? 1 : cout][c.row];
    for (int o = 0; o < cout; ++o) {
        code_row(sign, nz, o, cin, c, 0, rows[o]);
        if (!equal) code_row(sign, nz, o, cin, c, 1, abs_rows[o]);
    }
    for (int p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels; /* a lone last pixel pairs itself */
        const int8_t *a = in + p * cin, *b = two ? a + cin : a;
        int8_t *const ya = out + p * cout, *const yb = ya + cout;
        for (int o = 0;; o += 4) {
            if (o > cout - 4) o = cout - 4; /* the last group overlaps its predecessor */
            const int8_t *const r[4] = {rows[o], rows[o + 1], rows[o + 2], rows[o + 3]};
            int32x4_t da, db, ta = vdupq_n_s32(0), tb = ta;
            sums2x4(a, b, r, c, &da, &db);
            if (!equal) {
                const int8_t *const ar[4] = {abs_rows[o], abs_rows[o + 1], abs_rows[o + 2],
                                             abs_rows[o + 3]};
                sums2x4(a, b, ar, c, &ta, &tb);
            }
            const int32x4_t bias = vld1q_s32(rq->bias + o), mult = vld1q_s32(rq->mult + o);
            const int32x4_t shift = vld1q_s32(rq->shift + o);
            const int32x4_t qa = requant4_neon(ternary_acc4(da, ta, s, equal), bias, mult, shift,
                                               rq->act_min);
            const int32x4_t qb = requant4_neon(ternary_acc4(db, tb, s, equal), bias, mult, shift,
                                               rq->act_min);
            const int8x8_t bytes = vmovn_s16(vcombine_s16(vmovn_s32(qa), vmovn_s32(qb)));
            vst1_lane_s32((int32_t *)(void *)(ya + o), vreinterpret_s32_s8(bytes), 0);
            if (two) vst1_lane_s32((int32_t *)(void *)(yb + o), vreinterpret_s32_s8(bytes), 1);
            if (o == cout - 4) break;
        }
    }
}
