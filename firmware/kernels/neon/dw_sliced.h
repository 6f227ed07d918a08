/* Private helper of the NEON depthwise kernel: 3x3 ternary x binary with equal scales, counted
 * bit-sliced, 32 channels per 32-bit lane and four output pixels per 128-bit vector.
 *
 * Per tap t, x_t = (a_t ^ sign_t) & nz_t marks the channels whose product is -1 (a: the input
 * word, 1 = -1; sign: code -1; nz: code non-zero). The nine x_t of a pixel are added into a
 * 4-bit sliced count cnt (one full adder per tap row, then the rows' sums and carries), and the
 * output is -1 exactly when (cnt >= L) XOR direction, L the channel's count limit + 1 for the
 * pixel's border class (which taps lie inside the image; codegen/sliced.py, count_limit). The
 * compare is the carry out of cnt + ~L + 1: four bit-select steps. Lanes past the layer's
 * channels get ~L = 0 (never -1) and direction 0.
 *
 * Vectors: lane i holds pixel x0 + i of one channel word. The structure loads (vld1q .. vld4q)
 * de-interleave the words of layers of up to four words at stride 1, and at stride 2 split even
 * and odd input pixels (up to two words). Columns whose taps would read outside the input row
 * run one pixel at a time in scalar code, as do maps too narrow for a vector.
 *
 * Constants: the layout of TRIT_DW_SLICED_WORDS (trit/kernels.h): the generator's when the call
 * passes them, else derived here per call into a stack buffer. */
#ifndef TRIT_NEON_DW_SLICED_H
#define TRIT_NEON_DW_SLICED_H

#include <stdint.h>

#include "neon_util.h"

#define SL_TAPS 9
#define SL_CLASSES 9  /* border classes the constants hold */
#define SL_MAX_WORDS 4 /* channel words per pixel the vector path takes */

/* Where the constants' parts start: tap planes [9][words][2], class count, keys [9], limit
 * planes [9][words][4]. */
typedef struct {
    const uint32_t *taps;
    int classes;
    const uint32_t *keys;
    const uint32_t *limits;
} sl_consts_t;

static inline sl_consts_t sl_view(const uint32_t *k, int words) {
    const sl_consts_t v = {k, (int)k[SL_TAPS * 2 * words], k + SL_TAPS * 2 * words + 1,
                           k + SL_TAPS * 2 * words + 1 + SL_CLASSES};
    return v;
}

/* Bit mask of the taps k = 0..2 along one axis inside [0, n) for output position o. */
static inline uint32_t sl_axis(int n, int o, int stride, int pad) {
    uint32_t m = 0;
    for (int k = 0; k < 3; ++k) {
        const int i = o * stride + k - pad;
        m |= (uint32_t)(i >= 0 && i < n) << k;
    }
    return m;
}

/* The 3x3 tap mask (bit ky * 3 + kx) of row mask r and column mask cm. */
static inline uint32_t sl_key(uint32_t r, uint32_t cm) {
    return ((r & 1u) ? cm : 0u) | ((r & 2u) ? cm << 3 : 0u) | ((r & 4u) ? cm << 6 : 0u);
}

/* The class of key v (-1: none). */
static inline int sl_class(const sl_consts_t *k, uint32_t v) {
    for (int j = 0; j < k->classes; ++j)
        if (k->keys[j] == v) return j;
    return -1;
}

/* Derive the constants of a call into buf (TRIT_DW_SLICED_WORDS(c) words): 0 when the map has
 * more border classes than the layout holds. */
static int sl_derive(const int8_t *codes, int c, int h, int w, int stride, int pad,
                     int32_t alpha, const trit_threshold_t *thr, uint32_t *buf) {
    const int words = TRIT_WORDS(c);
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    uint32_t *taps = buf, *keys = buf + SL_TAPS * 2 * words + 1, *lim = keys + SL_CLASSES;
    uint32_t rows = 0, cols = 0; /* bit m: mask m occurs */
    for (int oy = 0; oy < oh; ++oy) rows |= 1u << sl_axis(h, oy, stride, pad);
    for (int ox = 0; ox < ow; ++ox) cols |= 1u << sl_axis(w, ox, stride, pad);
    int m = 0;
    for (uint32_t r = 0; r < 8; ++r)
        for (uint32_t cm = 0; cm < 8; ++cm)
            if (((rows >> r) & 1u) && ((cols >> cm) & 1u)) {
                if (m == SL_CLASSES) return 0;
                keys[m++] = sl_key(r, cm);
            }
    buf[SL_TAPS * 2 * words] = (uint32_t)m;
    for (int j = m; j < SL_CLASSES; ++j) keys[j] = 0xFFFFFFFFu;
    for (int i = 0; i < SL_TAPS * 2 * words; ++i) taps[i] = 0;
    for (int i = 0; i < SL_CLASSES * 4 * words; ++i) lim[i] = 0;
    for (int ch = 0; ch < c; ++ch) {
        const int g = ch / 32;
        const uint32_t bit = 1u << (ch % 32);
        uint32_t nzmask = 0; /* bit t: tap t non-zero */
        for (int t = 0; t < SL_TAPS; ++t) {
            const int8_t code = codes[ch * SL_TAPS + t];
            if (code < 0) taps[(t * words + g) * 2] |= bit;
            if (code) {
                taps[(t * words + g) * 2 + 1] |= bit;
                nzmask |= 1u << t;
            }
        }
        const int negative = (int)((thr->negative[g] >> (ch % 32)) & 1u);
        const int32_t q = limit_quotient(
            trit_threshold_at(thr, thr->has_residual ? 3 * ch + 1 : ch), negative, alpha);
        uint32_t *lj = lim + g * 4;
        for (int j = 0; j < m; ++j, lj += 4 * words) {
            const uint32_t l = count_limit1(q, negative, __builtin_popcount(nzmask & keys[j]));
            lj[0] |= (l & 1u) << (ch % 32);
            lj[1] |= ((l >> 1) & 1u) << (ch % 32);
            lj[2] |= ((l >> 2) & 1u) << (ch % 32);
            lj[3] |= ((l >> 3) & 1u) << (ch % 32);
        }
    }
    return 1;
}

/* One full adder on 32-bit lanes: a + b + c = s + 2 k. */
static inline void sl_fa(uint32x4_t a, uint32x4_t b, uint32x4_t c, uint32x4_t *s,
                         uint32x4_t *k) {
    const uint32x4_t t = veorq_u32(a, b);
    *s = veorq_u32(t, c);
    *k = vbslq_u32(t, c, a);
}

/* Output lanes from the three tap rows' sums s and carries k: count, then (count >= L) XOR
 * direction, with nl = ~L (4 planes) and neg the direction bits. */
static inline uint32x4_t sl_out(const uint32x4_t s[3], const uint32x4_t k[3],
                                const uint32x4_t nl[4], uint32x4_t neg) {
    uint32x4_t c0, c4, s5, d1;
    sl_fa(s[0], s[1], s[2], &c0, &c4);
    sl_fa(k[0], k[1], k[2], &s5, &d1);
    const uint32x4_t c1 = veorq_u32(s5, c4), d2 = vandq_u32(s5, c4);
    const uint32x4_t c2 = veorq_u32(d1, d2), c3 = vandq_u32(d1, d2);
    uint32x4_t ge = vorrq_u32(c0, nl[0]); /* carries of cnt + ~L + 1 */
    ge = vbslq_u32(veorq_u32(c1, nl[1]), ge, c1);
    ge = vbslq_u32(veorq_u32(c2, nl[2]), ge, c2);
    ge = vbslq_u32(veorq_u32(c3, nl[3]), ge, c3);
    return veorq_u32(ge, neg);
}

/* What a call's rows need. */
typedef struct {
    const uint32_t *in;
    int in_y0, h, w, words, stride, pad, ow, y0, y1;
    sl_consts_t k;
    const uint32_t *lanes;    /* [words]: the word's valid channel lanes */
    const uint32_t *negative; /* [words]: direction bits */
    uint32_t *ring;           /* three padded input rows, SL_RING_PIXELS(w) pixels each */
    uint32_t *out;
} sl_call_t;

/* Pixels of a ring row: one of padding left, two right (the stride-2 loads read one past the
 * padding; that lane is never used). */
#define SL_RING_PIXELS(w) ((w) + 3)

/* ~L planes of class j, word g (masked to the valid lanes) into lane `lane` (0 or 3) of nl[4],
 * or into every lane (lane < 0). */
static inline void sl_set_limits(const sl_call_t *d, int j, int g, int lane, uint32x4_t nl[4]) {
    for (int b = 0; b < 4; ++b) {
        const uint32_t v = ~d->k.limits[(j * d->words + g) * 4 + b] & d->lanes[g];
        nl[b] = lane < 0    ? vdupq_n_u32(v)
                : lane == 0 ? vsetq_lane_u32(v, nl[b], 0)
                            : vsetq_lane_u32(v, nl[b], 3);
    }
}

/* The output rows of a call at W words per pixel and stride S (constants after inlining), pad
 * 0 or 1, at least four output columns: vectors of four pixels (the last one overlapping its
 * predecessor where the width is not a multiple of four). Input rows are copied into a ring of
 * padded rows; before each output row the padding words of the rows it reads are set to the
 * sign planes of the taps that read them (each padding column is read by one tap column
 * only), so that x_t = 0 there without a mask, and the border lanes get their class's limits. */
static inline __attribute__((always_inline)) void sl_rows(const sl_call_t *d, const int W,
                                                          const int S) {
    const int pad = d->pad, ow = d->ow, rw = SL_RING_PIXELS(d->w) * W;
    uint32x4_t sg[SL_TAPS][SL_MAX_WORDS], nz[SL_TAPS][SL_MAX_WORDS], neg[SL_MAX_WORDS];
    for (int t = 0; t < SL_TAPS; ++t)
        for (int g = 0; g < W; ++g) {
            sg[t][g] = vdupq_n_u32(d->k.taps[(t * W + g) * 2]);
            nz[t][g] = vdupq_n_u32(d->k.taps[(t * W + g) * 2 + 1]);
        }
    for (int g = 0; g < W; ++g) neg[g] = vdupq_n_u32(d->negative[g] & d->lanes[g]);
    for (int i = 0; i < 3 * rw; ++i) d->ring[i] = 0;
    int held[3] = {-1, -1, -1}; /* the input row in each ring slot */
    uint32_t rmask_prev = 8;    /* no row mask */
    const uint32_t cfirst = sl_axis(d->w, 0, S, pad), clast = sl_axis(d->w, ow - 1, S, pad);
    /* ~L planes: inner lanes, the first vector (lane 0 the first column's class, lane 3 too
     * when it is also the last vector), the last vector (lane 3 the last column's class) */
    uint32x4_t nl_mid[SL_MAX_WORDS][4], nl_first[SL_MAX_WORDS][4], nl_last[SL_MAX_WORDS][4];
    for (int oy = d->y0; oy < d->y1; ++oy) {
        const uint32_t rmask = sl_axis(d->h, oy, S, pad);
        if (rmask != rmask_prev) {
            const int jm = sl_class(&d->k, sl_key(rmask, 7u));
            const int jf = sl_class(&d->k, sl_key(rmask, cfirst));
            const int jl = sl_class(&d->k, sl_key(rmask, clast));
            for (int g = 0; g < W; ++g) {
                sl_set_limits(d, jm, g, -1, nl_mid[g]);
                for (int b = 0; b < 4; ++b) nl_first[g][b] = nl_last[g][b] = nl_mid[g][b];
                sl_set_limits(d, jf, g, 0, nl_first[g]);
                sl_set_limits(d, jl, g, 3, nl_last[g]);
                if (ow == 4) sl_set_limits(d, jl, g, 3, nl_first[g]);
            }
            rmask_prev = rmask;
        }
        const uint32_t *rows[3];
        for (int ky = 0; ky < 3; ++ky) {
            rows[ky] = 0;
            if (!((rmask >> ky) & 1u)) continue;
            const int y = oy * S + ky - pad, slot = y % 3;
            uint32_t *r = d->ring + slot * rw + W; /* pixel 0 */
            if (held[slot] != y) {
                const uint32_t *src = d->in + (size_t)(y - d->in_y0) * d->w * W;
                int i = 0;
                for (; i + 4 <= d->w * W; i += 4) vst1q_u32(r + i, vld1q_u32(src + i));
                for (; i < d->w * W; ++i) r[i] = src[i];
                held[slot] = y;
            }
            if (pad)
                for (int g = 0; g < W; ++g) {
                    r[g - W] = d->k.taps[((ky * 3) * W + g) * 2];
                    r[d->w * W + g] = d->k.taps[((ky * 3 + 2) * W + g) * 2];
                }
            rows[ky] = r;
        }
        for (int x0 = 0;; x0 += 4) {
            if (x0 > ow - 4) x0 = ow - 4;
            const int px = x0 * S - pad; /* the first input pixel read */
            uint32x4_t s[SL_MAX_WORDS][3], k[SL_MAX_WORDS][3], o[SL_MAX_WORDS];
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ++ky) {
                if (!rows[ky]) {
                    for (int g = 0; g < W; ++g) s[g][ky] = k[g][ky] = vdupq_n_u32(0);
                    continue;
                }
                uint32x4_t v[3][SL_MAX_WORDS];
                if (S == 1) {
#pragma GCC unroll 3
                    for (int kx = 0; kx < 3; ++kx)
                        load_words4(rows[ky] + (px + kx) * W, W, v[kx]);
                } else {
                    uint32x4_t a[2 * SL_MAX_WORDS], b[2 * SL_MAX_WORDS];
                    load_words4(rows[ky] + px * W, 2 * W, a);
                    load_words4(rows[ky] + (px + 2) * W, 2 * W, b);
                    for (int g = 0; g < W; ++g) {
                        v[0][g] = a[g];
                        v[1][g] = a[W + g];
                        v[2][g] = b[g];
                    }
                }
                const int t = ky * 3;
                for (int g = 0; g < W; ++g)
                    sl_fa(vandq_u32(veorq_u32(v[0][g], sg[t][g]), nz[t][g]),
                          vandq_u32(veorq_u32(v[1][g], sg[t + 1][g]), nz[t + 1][g]),
                          vandq_u32(veorq_u32(v[2][g], sg[t + 2][g]), nz[t + 2][g]),
                          &s[g][ky], &k[g][ky]);
            }
            for (int g = 0; g < W; ++g)
                o[g] = sl_out(s[g], k[g], x0 == 0 ? nl_first[g] : x0 == ow - 4 ? nl_last[g]
                                                                                : nl_mid[g],
                              neg[g]);
            store_words4(d->out + ((size_t)(oy - d->y0) * ow + x0) * W, W, o);
            if (x0 == ow - 4) break;
        }
    }
}

#define SL_VARIANT(W_, S_)                                                                     \
    static void sl_rows_##W_##_##S_(const sl_call_t *d) { sl_rows(d, W_, S_); }
SL_VARIANT(1, 1)
SL_VARIANT(2, 1)
SL_VARIANT(3, 1)
SL_VARIANT(4, 1)
SL_VARIANT(1, 2)
SL_VARIANT(2, 2)
#undef SL_VARIANT

/* Equal scales, 3x3: the bit-sliced path; 0 (nothing written) where it does not apply (more
 * than four words, or two at stride 2, other strides, more border classes than the constants
 * hold), for the caller's general path. */
static int dw3x3_sliced(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                        int32_t alpha, int stride, int pad, const trit_threshold_t *thr,
                        uint32_t *out, const uint32_t *sliced, int in_y0, int y0, int y1) {
    const int words = TRIT_WORDS(c);
    const int ow = (w + 2 * pad - 3) / stride + 1;
    if (alpha <= 0 || words > SL_MAX_WORDS || stride < 1 || stride > 2 ||
        (stride == 2 && words > 2) || pad > 1 || ow < 4)
        return 0;
    uint32_t derived[TRIT_DW_SLICED_WORDS(SL_MAX_WORDS * 32)];
    if (!sliced) {
        if (!sl_derive(codes, c, h, w, stride, pad, alpha, thr, derived)) return 0;
        sliced = derived;
    }
    uint32_t lanes[SL_MAX_WORDS];
    for (int g = 0; g < words; ++g)
        lanes[g] = c - 32 * g >= 32 ? 0xFFFFFFFFu : (1u << (c - 32 * g)) - 1u;
    uint32_t ring[3 * SL_RING_PIXELS(w) * words];
    const sl_call_t d = {in,    in_y0, h,     w,     words, stride, pad, ow, y0, y1,
                         sl_view(sliced, words), lanes, thr->negative, ring, out};
    switch (10 * words + stride) {
    case 11: sl_rows_1_1(&d); break;
    case 21: sl_rows_2_1(&d); break;
    case 31: sl_rows_3_1(&d); break;
    case 41: sl_rows_4_1(&d); break;
    case 12: sl_rows_1_2(&d); break;
    default: sl_rows_2_2(&d); break;
    }
    return 1;
}

#endif /* TRIT_NEON_DW_SLICED_H */
