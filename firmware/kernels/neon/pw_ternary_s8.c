/* NEON flavour: pointwise ternary x int8 convolution with requantised int8 outputs, for
 * int8-activation models (IR v2, kernels.h).
 *
 * The codes are unpacked once per call into int8 rows (and |codes| for unequal scales). Two
 * pixels by two output channels per pass: per 16 inputs one load per pixel and per row and two
 * VMLAL.S8 per pixel-channel pair into int16 lanes (|code * x| <= 128, so a lane holds up to
 * 255 products: inputs up to 1,024); the inputs past the last multiple of 16 as one more chunk
 * of 16 or 8 that ends at the last input, its codes zero where the chunk overlaps inputs
 * already counted. The int16 lanes are added pairwise into the four sums d = P - N (and
 * t = P + N), acc = wp d (or wp P - wn N), requantised as one vector. Inputs of fewer than 8
 * channels or more than 1,024 take the portable loop. */
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

/* The sums {a.r0, a.r1, b.r0, b.r1} of pixels a, b with code rows r0, r1. */
static inline __attribute__((always_inline)) int32x4_t
sums2x2(const int8_t *a, const int8_t *b, const int8_t *r0, const int8_t *r1, chunks_t c) {
    int16x8_t a0 = vdupq_n_s16(0), a1 = a0, b0 = a0, b1 = a0;
    int j = 0;
    for (; j < c.full; ++j) {
        const int8x16_t xa = vld1q_s8(a + 16 * j), xb = vld1q_s8(b + 16 * j);
        const int8x16_t w0 = vld1q_s8(r0 + 16 * j), w1 = vld1q_s8(r1 + 16 * j);
        a0 = mla16(a0, xa, w0);
        a1 = mla16(a1, xa, w1);
        b0 = mla16(b0, xb, w0);
        b1 = mla16(b1, xb, w1);
    }
    const int at = c.row - c.tail_len; /* the tail's codes in the row */
    if (c.tail_len == 16) {
        const int8x16_t xa = vld1q_s8(a + c.tail_at), xb = vld1q_s8(b + c.tail_at);
        const int8x16_t w0 = vld1q_s8(r0 + at), w1 = vld1q_s8(r1 + at);
        a0 = mla16(a0, xa, w0);
        a1 = mla16(a1, xa, w1);
        b0 = mla16(b0, xb, w0);
        b1 = mla16(b1, xb, w1);
    } else if (c.tail_len == 8) {
        if (at == 8) { /* 9..15 inputs: their first 8 */
            const int8x8_t xa = vld1_s8(a), xb = vld1_s8(b);
            const int8x8_t w0 = vld1_s8(r0), w1 = vld1_s8(r1);
            a0 = vmlal_s8(a0, xa, w0);
            a1 = vmlal_s8(a1, xa, w1);
            b0 = vmlal_s8(b0, xb, w0);
            b1 = vmlal_s8(b1, xb, w1);
        }
        const int8x8_t xa = vld1_s8(a + c.tail_at), xb = vld1_s8(b + c.tail_at);
        const int8x8_t w0 = vld1_s8(r0 + at), w1 = vld1_s8(r1 + at);
        a0 = vmlal_s8(a0, xa, w0);
        a1 = vmlal_s8(a1, xa, w1);
        b0 = vmlal_s8(b0, xb, w0);
        b1 = vmlal_s8(b1, xb, w1);
    }
    return pairwise_s32(pairwise_s32(vpaddlq_s16(a0), vpaddlq_s16(a1)),
                        pairwise_s32(vpaddlq_s16(b0), vpaddlq_s16(b1)));
}

/* The portable loop (inputs the vector path does not take). */
static void pw_scalar(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                      const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                      int8_t *out) {
    const int nw = TRIT_WORDS(cin);
    for (int o = 0; o < cout; ++o)
        for (int p = 0; p < pixels; ++p) {
            int32_t d = 0, t = 0;
            for (int i = 0; i < cin; ++i) {
                const uint32_t bit = 1u << (i % 32);
                if (!(nz[o * nw + i / 32] & bit)) continue;
                const int32_t x = in[p * cin + i];
                d += (sign[o * nw + i / 32] & bit) ? -x : x;
                t += x;
            }
            out[p * cout + o] = trit_requant(trit_ternary_acc(d, t, s), o, rq);
        }
}

void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    (void)scratch; /* the code rows live on the stack (Linux) */
    if (cin < 8 || cin > MAX_INPUTS) {
        pw_scalar(in, pixels, cin, sign, nz, s, cout, rq, out);
        return;
    }
    const chunks_t c = chunks_of(cin);
    const int equal = s.wp == s.wn;
    int8_t rows[cout][c.row], abs_rows[equal ? 1 : cout][c.row];
    /* per channel pair o, o1: {bias, mult, shift} as lanes {o, o1, o, o1} */
    int32_t params[(cout + 1) / 2][3][4];
    for (int o = 0; o < cout; ++o) {
        code_row(sign, nz, o, cin, c, 0, rows[o]);
        if (!equal) code_row(sign, nz, o, cin, c, 1, abs_rows[o]);
        const int32_t v[3] = {rq->bias[o], rq->mult[o], rq->shift[o]};
        for (int j = 0; j < 3; ++j) {
            params[o / 2][j][o % 2] = params[o / 2][j][o % 2 + 2] = v[j];
            if (o % 2 == 0) params[o / 2][j][1] = params[o / 2][j][3] = v[j]; /* odd last */
        }
    }
    for (int p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels; /* a lone last pixel pairs itself */
        const int8_t *a = in + p * cin, *b = two ? a + cin : a;
        int8_t *const ya = out + p * cout, *const yb = ya + cout;
        for (int o = 0; o < cout; o += 2) {
            const int o1 = o + 1 < cout ? o + 1 : o; /* an odd last channel pairs itself */
            const int32x4_t d = sums2x2(a, b, rows[o], rows[o1], c);
            int32x4_t acc;
            if (equal) {
                acc = vmulq_n_s32(d, s.wp);
            } else { /* P = (t + d) / 2, N = (t - d) / 2: exact, t + d = 2 P */
                const int32x4_t t = sums2x2(a, b, abs_rows[o], abs_rows[o1], c);
                acc = vmlsq_n_s32(vmulq_n_s32(vshrq_n_s32(vaddq_s32(t, d), 1), s.wp),
                                  vshrq_n_s32(vsubq_s32(t, d), 1), s.wn);
            }
            const int32_t(*pp)[4] = params[o / 2];
            int32_t y[4];
            vst1q_s32(y, requant4_neon(acc, vld1q_s32(pp[0]), vld1q_s32(pp[1]), vld1q_s32(pp[2]),
                                       rq->act_min));
            ya[o] = (int8_t)y[0];
            if (o1 != o) ya[o1] = (int8_t)y[1];
            if (two) {
                yb[o] = (int8_t)y[2];
                if (o1 != o) yb[o1] = (int8_t)y[3];
            }
        }
    }
}
