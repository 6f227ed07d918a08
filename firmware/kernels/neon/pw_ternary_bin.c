/* NEON flavour: pointwise ternary x binary convolution with vcnt popcounts.
 *
 * Activation bits a (1 = -1), weight planes s (1 = -1) and nz (1 = non-zero). With
 * t = nz & a, P_a = popcount(t & ~s) and N_a = popcount(t & s) (inputs -1 under +1 and -1
 * weights), acc = wp P - wn N = K - 2 wp P_a + 2 wn N_a, where K = wp |nz & ~s| - wn |nz & s|
 * is computed once per call (scratch). Equal scales (wp == wn) need one popcount per word:
 * acc = K - 2 wp D with D = popcount(nz & (a ^ s)) and K = wp |nz|.
 *
 * Output channels go in blocks of eight. Per block, AND/BIC and vcntq_u8 give byte popcounts,
 * and pairwise adds fold them into one vector of eight counts per plane:
 *   cin <= 64 (1 or 2 words): the rows of 4 or 2 outputs share a 16-byte vector, the activation
 *                             repeated across it;
 *   cin <= 128 (3 or 4 words): one 16-byte vector per output row, words past cin zero in the
 *                             activation (the row's vector reaches into the next row);
 *   larger: 16-byte chunks per row, vpadalq_u8 into u16 lanes, then the fold.
 * Then K + (-2 wp) P_a + (2 wn) N_a in int32 lanes (vmlaq_n_s32), compared with the thresholds
 * in registers and packed 8 bits at a time. Rows of the last block (and any block whose reads
 * would pass the end of the weights) are first copied into a zero-padded buffer.
 *
 * Scratch (int32): K[cpad], then the direction masks (-1 where the channel is +1 iff
 * acc <= t) [cpad], cpad = cout rounded up to 8. */
#include <string.h>

#include "neon_util.h"
#include "pw_nibble.h"

#define BLOCK 8 /* output channels per block */

typedef struct {
    uint16x8_t p, n; /* P_a and N_a (equal scales: D in p) of the block's eight outputs */
} counts8_t;

/* Byte popcounts of one weight vector (sign sv, non-zero zv) against activation vector av:
 * P_a and N_a, or D for equal scales. */
static inline __attribute__((always_inline)) void
count_vector(uint8x16_t sv, uint8x16_t zv, uint8x16_t av, const int equal, uint8x16_t *cp,
             uint8x16_t *cn) {
    if (equal) {
        *cp = vcntq_u8(vandq_u8(zv, veorq_u8(av, sv)));
    } else {
        const uint8x16_t t = vandq_u8(zv, av);
        *cp = vcntq_u8(vbicq_u8(t, sv));
        *cn = vcntq_u8(vandq_u8(t, sv));
    }
}

/* Fold byte counts v[0..m) (m = 2, 4 or 8 vectors covering eight outputs in order, at most
 * 255 per output) into eight u16 lanes. */
static inline __attribute__((always_inline)) uint16x8_t fold_u8(const uint8x16_t *v, const int m) {
    uint8x16_t x;
    if (m == 2) {
        x = pairwise_u8(v[0], v[1]);
    } else if (m == 4) {
        x = pairwise_u8(pairwise_u8(v[0], v[1]), pairwise_u8(v[2], v[3]));
    } else {
        x = pairwise_u8(pairwise_u8(pairwise_u8(v[0], v[1]), pairwise_u8(v[2], v[3])),
                        pairwise_u8(pairwise_u8(v[4], v[5]), pairwise_u8(v[6], v[7])));
    }
    return vmovl_u8(vget_low_u8(pairwise_u8(x, x)));
}

/* Fold eight u16 vectors (one per output, in order) into eight u16 lanes. */
static inline __attribute__((always_inline)) uint16x8_t fold_u16(const uint16x8_t *v) {
    return pairwise_u16(pairwise_u16(pairwise_u16(v[0], v[1]), pairwise_u16(v[2], v[3])),
                        pairwise_u16(pairwise_u16(v[4], v[5]), pairwise_u16(v[6], v[7])));
}

/* Rows of 1 or 2 words (iw = 1, 2): four or two rows per vector. */
static inline __attribute__((always_inline)) counts8_t
block_packed(const uint32_t *s, const uint32_t *z, uint8x16_t a, const int iw, const int equal) {
    uint8x16_t cp[4], cn[4];
    counts8_t c;
#pragma GCC unroll 4
    for (int j = 0; j < 2 * iw; ++j)
        count_vector(vld1q_u8((const uint8_t *)(s + 4 * j)), vld1q_u8((const uint8_t *)(z + 4 * j)),
                     a, equal, &cp[j], &cn[j]);
    c.p = fold_u8(cp, 2 * iw);
    c.n = equal ? c.p : fold_u8(cn, 2 * iw);
    return c;
}

/* Rows of 3 or 4 words: one vector per row (row i at s + i * iw). With iw = 3 the vector's
 * fourth word is the next row's first: the activation's fourth word is zero, which clears it
 * for P_a and N_a, but equal scales count nz & (a ^ s), so there it is masked off. */
static inline __attribute__((always_inline)) counts8_t
block_rows(const uint32_t *s, const uint32_t *z, uint8x16_t a, int iw, const int equal) {
    const uint8x16_t keep = vreinterpretq_u8_u32(
        vcombine_u32(vdup_n_u32(~0u), vcreate_u32(iw == 3 ? 0xffffffffull : ~0ull)));
    uint8x16_t cp[BLOCK], cn[BLOCK];
    counts8_t c;
#pragma GCC unroll 8
    for (int i = 0; i < BLOCK; ++i) {
        uint8x16_t zv = vld1q_u8((const uint8_t *)(z + i * iw));
        if (equal && iw == 3) zv = vandq_u8(zv, keep);
        count_vector(vld1q_u8((const uint8_t *)(s + i * iw)), zv, a, equal, &cp[i], &cn[i]);
    }
    c.p = fold_u8(cp, BLOCK);
    c.n = equal ? c.p : fold_u8(cn, BLOCK);
    return c;
}

/* Rows of more than 4 words: `full` whole chunks from a, then the padded last chunk a_tail
 * (when iw % 4 != 0). The last chunk's vector reaches into the next row: like iw = 3 in
 * block_rows, its words past the row are masked off the non-zero plane for equal scales. */
static inline __attribute__((always_inline)) counts8_t
block_chunks(const uint32_t *s, const uint32_t *z, const uint32_t *a, int iw, int full, int tail,
             uint8x16_t a_tail, const int equal) {
    uint16x8_t cp[BLOCK], cn[BLOCK];
    const uint32_t keep_words[4] = {~0u, tail > 1 || tail == 0 ? ~0u : 0u,
                                    tail > 2 || tail == 0 ? ~0u : 0u, tail == 0 ? ~0u : 0u};
    const uint8x16_t keep = vreinterpretq_u8_u32(vld1q_u32(keep_words));
#pragma GCC unroll 8
    for (int i = 0; i < BLOCK; ++i) cp[i] = cn[i] = vdupq_n_u16(0);
    for (int j = 0; j < full + (tail != 0); ++j) {
        const uint8x16_t av = j < full ? vld1q_u8((const uint8_t *)(a + 4 * j)) : a_tail;
#pragma GCC unroll 8
        for (int i = 0; i < BLOCK; ++i) {
            uint8x16_t bp, bn, zv = vld1q_u8((const uint8_t *)(z + i * iw + 4 * j));
            if (equal && j == full) zv = vandq_u8(zv, keep);
            count_vector(vld1q_u8((const uint8_t *)(s + i * iw + 4 * j)), zv, av, equal, &bp,
                         &bn);
            cp[i] = vpadalq_u8(cp[i], bp);
            if (!equal) cn[i] = vpadalq_u8(cn[i], bn);
        }
    }
    const uint16x8_t p = fold_u16(cp);
    return (counts8_t){p, equal ? p : fold_u16(cn)};
}

/* The activation words of one pixel as a vector: repeated for iw = 1, 2; words past iw zero. */
static inline uint8x16_t activation_vector(const uint32_t *a, int iw) {
    switch (iw) {
    case 1: return vreinterpretq_u8_u32(vdupq_n_u32(a[0]));
    case 2: return vreinterpretq_u8_u32(vcombine_u32(vld1_u32(a), vld1_u32(a)));
    case 3: return vreinterpretq_u8_u32(vcombine_u32(vld1_u32(a), vcreate_u32(a[2])));
    default: return vreinterpretq_u8_u32(vld1q_u32(a));
    }
}

/* Counts of one block of rows at (s, z) for the pixel's activation words a. */
static inline __attribute__((always_inline)) counts8_t
block_counts(const uint32_t *s, const uint32_t *z, const uint32_t *a, uint8x16_t av, int iw,
             int full, int tail, const int equal) {
    if (iw == 1) return block_packed(s, z, av, 1, equal);
    if (iw == 2) return block_packed(s, z, av, 2, equal);
    if (iw <= 4) return block_rows(s, z, av, iw, equal);
    return block_chunks(s, z, a, iw, full, tail, av, equal);
}

/* What the pixel loop needs besides the kernel's arguments. */
typedef struct {
    int iw, full, tail, direct, cpad;
    const uint32_t *s_rest, *z_rest; /* padded copy of the rows from direct * BLOCK on */
    const int32_t *k;                /* [cpad] */
    const uint32_t *negative;        /* [cpad] direction masks */
    int32_t m2wp, p2wn;              /* -2 wp and 2 wn */
} pw_plan_t;

/* Output bits of the block of eight channels at ob, 1 = -1. */
static inline __attribute__((always_inline)) uint32_t
block_bits(int32x4_t lo, int32x4_t hi, int ob, const pw_plan_t *pl, const trit_threshold_t *thr,
           const uint32_t *r, int res_c, uint32x4_t lane_bits, const int has_res) {
    int32x4_t t0, t1;
    if (has_res) {
        t0 = thresholds4(thr, ob, r, res_c, lane_bits);
        t1 = thresholds4(thr, ob + 4, r, res_c, lane_bits);
    } else {
        t0 = vld1q_s32(thr->threshold + ob);
        t1 = vld1q_s32(thr->threshold + ob + 4);
    }
    const uint32x4_t n0 = vld1q_u32(pl->negative + ob), n1 = vld1q_u32(pl->negative + ob + 4);
    const uint32x4_t b0 = vbslq_u32(n0, vcgtq_s32(lo, t0), vcltq_s32(lo, t0));
    const uint32x4_t b1 = vbslq_u32(n1, vcgtq_s32(hi, t1), vcltq_s32(hi, t1));
    return sum_u32(vorrq_u32(vandq_u32(b0, lane_bits), vandq_u32(b1, vshlq_n_u32(lane_bits, 4))));
}

/* One output pixel: its activation words, their vector, its residual bits and output words
 * (cleared here). */
typedef struct {
    const uint32_t *a, *r;
    uint8x16_t av;
    uint32_t *o;
} pixel_t;

static inline __attribute__((always_inline)) pixel_t
pixel_at(int px, const uint32_t *in, int w, const uint32_t *residual, int res_w, int res_c,
         int res_stride, uint32_t *out, int owords, const pw_plan_t *pl, const int has_res) {
    pixel_t p = {.a = in + px * pl->iw, .r = 0, .o = out + px * owords};
    if (pl->iw <= 4) {
        p.av = activation_vector(p.a, pl->iw);
    } else { /* the last, partial chunk */
        uint32_t last[4] = {0};
        memcpy(last, p.a + 4 * pl->full, (size_t)pl->tail * 4);
        p.av = vreinterpretq_u8_u32(vld1q_u32(last));
    }
    if (has_res && residual) {
        const int y = px / w, x = px % w;
        p.r = residual + ((y * res_stride) * res_w + x * res_stride) * TRIT_WORDS(res_c);
    }
    for (int i = 0; i < owords; ++i) p.o[i] = 0;
    return p;
}

/* Accumulators of the block at ob: K + (-2 wp) P_a (+ 2 wn N_a) in two int32x4 halves. */
static inline __attribute__((always_inline)) int32x4x2_t
block_acc(counts8_t c, int ob, const pw_plan_t *pl, const int equal) {
    int32x4_t lo = vld1q_s32(pl->k + ob), hi = vld1q_s32(pl->k + ob + 4);
    lo = vmlaq_n_s32(lo, vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(c.p))), pl->m2wp);
    hi = vmlaq_n_s32(hi, vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(c.p))), pl->m2wp);
    if (!equal) {
        lo = vmlaq_n_s32(lo, vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(c.n))), pl->p2wn);
        hi = vmlaq_n_s32(hi, vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(c.n))), pl->p2wn);
    }
    return (int32x4x2_t){{lo, hi}};
}

/* Channels ob.. of a block that passes cout: one at a time. */
static void partial_block(int32x4x2_t acc8, int ob, int cout, const trit_threshold_t *thr,
                          const pixel_t *p, int res_c) {
    int32_t acc[BLOCK];
    vst1q_s32(acc, acc8.val[0]);
    vst1q_s32(acc + 4, acc8.val[1]);
    for (int o = ob; o < cout; ++o)
        p->o[o / 32] |= channel_bit(acc[o - ob], o, thr, p->r, res_c) << (o % 32);
}

/* Pixels first .. h * w - 1 two at a time: each block's weight vectors, K, thresholds and
 * directions are loaded once for both (both pixels' bits are computed before either is stored,
 * so the stores cannot force reloads); an odd last pixel alone. */
static inline __attribute__((always_inline)) void
pixels(int first, const uint32_t *in, int h, int w, const uint32_t *sign, const uint32_t *nz,
       int cout, const trit_threshold_t *thr, const uint32_t *residual, int res_w, int res_c,
       int res_stride, uint32_t *out, const pw_plan_t *pl, const int equal, const int has_res) {
    const int iw = pl->iw, owords = TRIT_WORDS(cout), n = h * w;
    const uint32x4_t lane_bits = lane_bits4();
    int px = first;
    for (; px + 2 <= n; px += 2) {
        const pixel_t p0 = pixel_at(px, in, w, residual, res_w, res_c, res_stride, out, owords,
                                    pl, has_res);
        const pixel_t p1 = pixel_at(px + 1, in, w, residual, res_w, res_c, res_stride, out,
                                    owords, pl, has_res);
        for (int ob = 0; ob < pl->cpad; ob += BLOCK) {
            const int padded = ob >= pl->direct * BLOCK;
            const uint32_t *sb = padded ? pl->s_rest : sign + ob * iw;
            const uint32_t *zb = padded ? pl->z_rest : nz + ob * iw;
            const int32x4x2_t acc0 = block_acc(
                block_counts(sb, zb, p0.a, p0.av, iw, pl->full, pl->tail, equal), ob, pl, equal);
            const int32x4x2_t acc1 = block_acc(
                block_counts(sb, zb, p1.a, p1.av, iw, pl->full, pl->tail, equal), ob, pl, equal);
            if (ob + BLOCK <= cout) {
                const uint32_t b0 = block_bits(acc0.val[0], acc0.val[1], ob, pl, thr, p0.r, res_c,
                                               lane_bits, has_res);
                const uint32_t b1 = block_bits(acc1.val[0], acc1.val[1], ob, pl, thr, p1.r, res_c,
                                               lane_bits, has_res);
                p0.o[ob / 32] |= b0 << (ob % 32);
                p1.o[ob / 32] |= b1 << (ob % 32);
            } else {
                partial_block(acc0, ob, cout, thr, &p0, res_c);
                partial_block(acc1, ob, cout, thr, &p1, res_c);
            }
        }
    }
    if (px < n) {
        const pixel_t p0 = pixel_at(px, in, w, residual, res_w, res_c, res_stride, out, owords,
                                    pl, has_res);
        for (int ob = 0; ob < pl->cpad; ob += BLOCK) {
            const int padded = ob >= pl->direct * BLOCK;
            const int32x4x2_t acc0 = block_acc(
                block_counts(padded ? pl->s_rest : sign + ob * iw,
                             padded ? pl->z_rest : nz + ob * iw, p0.a, p0.av, iw, pl->full,
                             pl->tail, equal), ob, pl, equal);
            if (ob + BLOCK <= cout)
                p0.o[ob / 32] |= block_bits(acc0.val[0], acc0.val[1], ob, pl, thr, p0.r, res_c,
                                            lane_bits, has_res) << (ob % 32);
            else
                partial_block(acc0, ob, cout, thr, &p0, res_c);
        }
    }
}

void trit_pw_ternary_bin(const uint32_t *in, int h, int w, int cin, const uint32_t *sign,
                         const uint32_t *nz, trit_scales_t s, int cout,
                         const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                         int res_c, int res_stride, uint32_t *out, int32_t *scratch,
                         const uint32_t *sliced, const uint32_t *tables) {
    (void)sliced; /* the ARMv7E-M flavour's constants and tables are not used */
    (void)tables;
    const int first = pw_nibble(in, h, w, cin, sign, nz, s, cout, thr, residual, res_w, res_c,
                                res_stride, out);
    if (first == h * w) return;
    TRIT_NEON_WIDEN_THRESHOLDS(thr, cout);
    const int iw = TRIT_WORDS(cin), equal = s.wp == s.wn;
    pw_plan_t pl = {.iw = iw, .full = iw / 4, .tail = iw % 4};
    /* blocks read in place: whole blocks whose reads stay inside the weights (rows of 3 or
     * more than 4 words read up to 3 words past the row); the rest from a padded copy */
    pl.direct = cout / BLOCK;
    if (iw > 2 && pl.tail && pl.direct * BLOCK == cout) --pl.direct;
    const int rest = cout - pl.direct * BLOCK;
    pl.cpad = pl.direct * BLOCK + (rest ? BLOCK : 0);
    int32_t *k = scratch;
    uint32_t *negative = (uint32_t *)scratch + pl.cpad;
    for (int o = 0; o < pl.cpad; ++o) {
        uint32_t plus = 0, minus = 0; /* wrapping arithmetic, as the vector lanes */
        for (int j = 0; o < cout && j < iw; ++j) {
            plus += (uint32_t)trit_popcount32(nz[o * iw + j] & ~sign[o * iw + j]);
            minus += (uint32_t)trit_popcount32(nz[o * iw + j] & sign[o * iw + j]);
        }
        k[o] = (int32_t)(equal ? (uint32_t)s.wp * (plus + minus)
                               : (uint32_t)s.wp * plus - (uint32_t)s.wn * minus);
        negative[o] = o < cout ? 0u - ((thr->negative[o / 32] >> (o % 32)) & 1u) : 0u;
    }
    uint32_t s_rest[BLOCK * iw + 4], z_rest[BLOCK * iw + 4];
    memset(s_rest, 0, sizeof s_rest);
    memset(z_rest, 0, sizeof z_rest);
    memcpy(s_rest, sign + pl.direct * BLOCK * iw, (size_t)(rest * iw) * 4);
    memcpy(z_rest, nz + pl.direct * BLOCK * iw, (size_t)(rest * iw) * 4);
    pl.s_rest = s_rest;
    pl.z_rest = z_rest;
    pl.k = k;
    pl.negative = negative;
    pl.m2wp = (int32_t)(0u - 2u * (uint32_t)s.wp);
    pl.p2wn = (int32_t)(2u * (uint32_t)s.wn);
    const int has_res = thr->has_residual;
    if (equal && has_res)
        pixels(first, in, h, w, sign, nz, cout, thr, residual, res_w, res_c, res_stride, out,
               &pl, 1, 1);
    else if (equal)
        pixels(first, in, h, w, sign, nz, cout, thr, residual, res_w, res_c, res_stride, out,
               &pl, 1, 0);
    else if (has_res)
        pixels(first, in, h, w, sign, nz, cout, thr, residual, res_w, res_c, res_stride, out,
               &pl, 0, 1);
    else
        pixels(first, in, h, w, sign, nz, cout, thr, residual, res_w, res_c, res_stride, out,
               &pl, 0, 0);
}
