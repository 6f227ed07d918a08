/* Private helper of the NEON pointwise kernel: equal scales, sixteen pixels per vector through
 * byte table lookups.
 *
 * With equal scales the output of channel o is -1 exactly when (D >= L) XOR its direction, D
 * the count of -1 products (inputs i with nz[o][i] & (a[i] ^ s[o][i])) and L its count limit
 * + 1 (codegen/sliced.py, count_limit; with a residual one limit per residual value). Each
 * nibble k of the input (inputs 4k .. 4k + 3) adds table[o][k][nibble] to D, a 16-byte table
 * made per call (vcnt of the weights' nibble against the 16 possible inputs). One table lookup
 * (vqtbl1q_u8; two vtbl2_u8 on 32-bit ARM) then serves sixteen pixels: the lanes are pixels, each
 * lane's index its own input nibble. Per sixteen pixels: vld4q_u8 splits the input words into
 * their bytes (after a gather of each word for inputs of 2 to 4 words), the bytes into nibbles,
 * per output channel one lookup and one add per nibble, a compare with the limit (chosen per
 * lane by the residual's bit), and a bit select into the output byte; vst4q_u8 writes the
 * sixteen pixels' words back.
 *
 * Inputs and outputs of at most 128 channels; sums stay below 256 (u8 lanes). */
#ifndef TRIT_NEON_PW_NIBBLE_H
#define TRIT_NEON_PW_NIBBLE_H

#include <stdint.h>

#include "neon_util.h"

#define NB_PIXELS 16
#define NB_MAX_WORDS 4

/* table[index] for sixteen byte indices below 16. */
static inline uint8x16_t nb_lookup(uint8x16_t table, uint8x16_t index) {
#ifdef __aarch64__
    return vqtbl1q_u8(table, index);
#else
    const uint8x8x2_t t = {{vget_low_u8(table), vget_high_u8(table)}};
    return vcombine_u8(vtbl2_u8(t, vget_low_u8(index)), vtbl2_u8(t, vget_high_u8(index)));
#endif
}

/* Words j of sixteen pixels at p (iw words a pixel, 1..4) as bytes: v[4 j + b] lane i = byte b
 * of pixel i's word j. */
static inline void nb_bytes(const uint32_t *p, int iw, uint8x16_t *v) {
    uint32_t buf[NB_MAX_WORDS][NB_PIXELS];
    const uint32_t *rows[NB_MAX_WORDS] = {p};
    if (iw > 1) {
        for (int q = 0; q < NB_PIXELS / 4; ++q, p += 4 * iw) {
            uint32x4_t w[NB_MAX_WORDS];
            load_words4(p, iw, w);
            for (int j = 0; j < iw; ++j) vst1q_u32(buf[j] + 4 * q, w[j]);
        }
        for (int j = 0; j < iw; ++j) rows[j] = buf[j];
    }
    for (int j = 0; j < iw; ++j) {
        const uint8x16x4_t b = vld4q_u8((const uint8_t *)rows[j]);
        v[4 * j] = b.val[0], v[4 * j + 1] = b.val[1], v[4 * j + 2] = b.val[2];
        v[4 * j + 3] = b.val[3];
    }
}

/* The per-call constants: tables [pairs of channels][nibbles] and limits [cout][3] (residual
 * -1, none, +1). */
typedef struct {
    const uint8x16_t *tables;
    const uint8_t *limits;
    const uint8_t *negative; /* [cout]: 0xFF where the direction is negative */
    int iw, cout, owords;
} nb_plan_t;

/* Tables and limits of a layer (sign, nz [cout][iw]; thresholds thr, equal scales alpha > 0)
 * into tables [ceil(cout / 2)][nibbles] (nibbles: two per input byte that holds inputs; the
 * counts of channels 2 p and 2 p + 1 in the low and high nibble of pair p's bytes), limits
 * [3 * cout] and negative [cout]. */
static void nb_prepare(const uint32_t *sign, const uint32_t *nz, int cin, int cout,
                       int32_t alpha, const trit_threshold_t *thr, uint8x16_t *tables,
                       uint8_t *limits, uint8_t *negative) {
    static const uint8_t values[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const uint8x16_t v = vld1q_u8(values);
    const int iw = TRIT_WORDS(cin);
    const int nbytes = (cin + 7) / 8;
    const uint8x16_t low = vdupq_n_u8(15);
    for (int o = 0; o < cout; ++o) {
        uint8x16_t *t = tables + (o / 2) * 2 * nbytes; /* the pair's tables */
        int n = 0;
        for (int j = 0; j < iw; ++j) n += trit_popcount32(nz[o * iw + j]);
        for (int b = 0; b < nbytes; ++b) { /* the byte's two nibbles: tables 2 b and 2 b + 1 */
            const uint32_t sh = 8u * (uint32_t)(b % 4);
            const uint8x16_t sb = vdupq_n_u8((uint8_t)(sign[o * iw + b / 4] >> sh));
            const uint8x16_t zb = vdupq_n_u8((uint8_t)(nz[o * iw + b / 4] >> sh));
            const uint8x16_t lo =
                vcntq_u8(vandq_u8(veorq_u8(v, vandq_u8(sb, low)), vandq_u8(zb, low)));
            const uint8x16_t hi =
                vcntq_u8(vandq_u8(veorq_u8(v, vshrq_n_u8(sb, 4)), vshrq_n_u8(zb, 4)));
            t[2 * b] = o % 2 ? vsliq_n_u8(t[2 * b], lo, 4) : lo;
            t[2 * b + 1] = o % 2 ? vsliq_n_u8(t[2 * b + 1], hi, 4) : hi;
        }
        const int neg = (int)((thr->negative[o / 32] >> (o % 32)) & 1u);
        negative[o] = neg ? 0xFF : 0;
        for (int r = 0; r < 3; ++r) /* without a residual the three are the same */
            limits[3 * o + r] =
                thr->has_residual || r == 0
                    ? (uint8_t)count_limit1(
                          limit_quotient(trit_threshold_at(thr, thr->has_residual ? 3 * o + r : o),
                                         neg, alpha),
                          neg, n)
                    : limits[3 * o];
    }
}

/* Sixteen output pixels from their input words a and (res_words > 0) their residual words r
 * (res_words a pixel, as the input's); res_c: the residual's channels.
 * nbytes: input bytes that hold the layer's inputs (a constant after inlining, so that the
 * nibbles stay in registers and the lookups unroll). */
static inline __attribute__((always_inline)) void nb_pixels(const nb_plan_t *pl,
                                                            const uint32_t *a, const uint32_t *r,
                                                            int res_words, int res_c,
                                                            uint32_t *out, const int nbytes) {
    uint8x16_t nib[8 * NB_MAX_WORDS], rb[4 * NB_MAX_WORDS], ob[4 * NB_MAX_WORDS];
    uint8x16_t bytes[4 * NB_MAX_WORDS];
    nb_bytes(a, pl->iw, bytes);
    const uint8x16_t low = vdupq_n_u8(15);
    for (int b = 0; b < nbytes; ++b) {
        nib[2 * b] = vandq_u8(bytes[b], low);
        nib[2 * b + 1] = vshrq_n_u8(bytes[b], 4);
    }
    if (res_words) nb_bytes(r, res_words, rb);
    const uint8x16_t *tab = pl->tables;
    for (int q = 0; q < 4 * pl->owords; ++q) {
        uint8x16_t byte = vdupq_n_u8(0);
#pragma GCC unroll 4
        for (int i = 0; i < 8; i += 2, tab += 2 * nbytes) {
            if (8 * q + i >= pl->cout) break;
            /* a pair's counts, both in one byte for up to three nibbles (at most 12 each) */
            uint8x16_t cnt[2];
#pragma GCC unroll 11
            for (int k = 0; k < 2 * nbytes; k += 3) {
                uint8x16_t both = nb_lookup(tab[k], nib[k]);
                if (k + 1 < 2 * nbytes) both = vaddq_u8(both, nb_lookup(tab[k + 1], nib[k + 1]));
                if (k + 2 < 2 * nbytes) both = vaddq_u8(both, nb_lookup(tab[k + 2], nib[k + 2]));
                const uint8x16_t lo = vandq_u8(both, low), hi = vshrq_n_u8(both, 4);
                cnt[0] = k ? vaddq_u8(cnt[0], lo) : lo;
                cnt[1] = k ? vaddq_u8(cnt[1], hi) : hi;
            }
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h) {
                const int o = 8 * q + i + h;
                if (o >= pl->cout) break;
                const uint8_t *lim = pl->limits + 3 * o;
                const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << (i + h)));
                uint8x16_t l = vld1q_dup_u8(lim + 1);
                if (o < res_c) /* residual bit 1 (-1): column 0, else column 2 */
                    l = vbslq_u8(vtstq_u8(rb[q], bit), vld1q_dup_u8(lim), vld1q_dup_u8(lim + 2));
                const uint8x16_t minus =
                    veorq_u8(vcgeq_u8(cnt[h], l), vld1q_dup_u8(pl->negative + o));
                byte = vbslq_u8(bit, minus, byte);
            }
        }
        ob[q] = byte;
    }
    if (pl->owords == 1) {
        const uint8x16x4_t w = {{ob[0], ob[1], ob[2], ob[3]}};
        vst4q_u8((uint8_t *)out, w);
        return;
    }
    uint32_t buf[NB_MAX_WORDS][NB_PIXELS];
    for (int j = 0; j < pl->owords; ++j) {
        const uint8x16x4_t w = {{ob[4 * j], ob[4 * j + 1], ob[4 * j + 2], ob[4 * j + 3]}};
        vst4q_u8((uint8_t *)buf[j], w);
    }
    for (int q = 0; q < NB_PIXELS / 4; ++q, out += 4 * pl->owords) {
        if (pl->owords == 2) {
            const uint32x4x2_t w = {{vld1q_u32(buf[0] + 4 * q), vld1q_u32(buf[1] + 4 * q)}};
            vst2q_u32(out, w);
        } else if (pl->owords == 3) {
            const uint32x4x3_t w = {{vld1q_u32(buf[0] + 4 * q), vld1q_u32(buf[1] + 4 * q),
                                     vld1q_u32(buf[2] + 4 * q)}};
            vst3q_u32(out, w);
        } else {
            const uint32x4x4_t w = {{vld1q_u32(buf[0] + 4 * q), vld1q_u32(buf[1] + 4 * q),
                                     vld1q_u32(buf[2] + 4 * q), vld1q_u32(buf[3] + 4 * q)}};
            vst4q_u32(out, w);
        }
    }
}

/* Groups 0 .. groups - 1 of sixteen pixels (nbytes: see nb_pixels); res_c 0: no residual. */
static inline __attribute__((always_inline)) void
nb_groups(const nb_plan_t *pl, const uint32_t *in, int w, const uint32_t *residual, int res_w,
          int res_c, int res_stride, int rw, int groups, uint32_t *out, const int nbytes) {
    uint32_t rbuf[NB_MAX_WORDS * NB_PIXELS];
    const int contiguous = res_stride == 1 && res_w == w; /* residual pixel p at p * rw */
    for (int gi = 0; gi < groups; ++gi) {
        const int p0 = gi * NB_PIXELS;
        const uint32_t *r = contiguous ? residual + p0 * rw : rbuf;
        if (res_c && !contiguous)
            for (int i = 0; i < NB_PIXELS; ++i) {
                const int y = (p0 + i) / w, x = (p0 + i) % w;
                const uint32_t *rp = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
                for (int j = 0; j < rw; ++j) rbuf[i * rw + j] = rp[j];
            }
        nb_pixels(pl, in + p0 * pl->iw, r, res_c ? rw : 0, res_c, out + p0 * pl->owords,
                  nbytes);
    }
}

/* The layer's pixels in groups of sixteen (pixels [0, returned) computed; the caller does the
 * rest): 0 where this path does not apply (unequal scales, more than 128 input or output
 * channels, fewer than sixteen pixels). Residual as trit_pw_ternary_bin. */
static int pw_nibble(const uint32_t *in, int h, int w, int cin, const uint32_t *sign,
                     const uint32_t *nz, trit_scales_t s, int cout, const trit_threshold_t *thr,
                     const uint32_t *residual, int res_w, int res_c, int res_stride,
                     uint32_t *out) {
    const int n = h * w, iw = TRIT_WORDS(cin), owords = TRIT_WORDS(cout);
    if (s.wp != s.wn || s.wp <= 0 || iw > NB_MAX_WORDS || owords > NB_MAX_WORDS ||
        n < NB_PIXELS)
        return 0;
    const int nbytes = (cin + 7) / 8;
    uint8x16_t tables[(cout + 1) / 2 * 2 * nbytes];
    uint8_t limits[3 * cout], negative[cout];
    nb_prepare(sign, nz, cin, cout, s.wp, thr, tables, limits, negative);
    const nb_plan_t pl = {tables, limits, negative, iw, cout, owords};
    const int rw = TRIT_WORDS(res_c), has_res = thr->has_residual && residual && res_c > 0;
    const int groups = n / NB_PIXELS;
    switch (nbytes) {
#define NB_CASE(B)                                                                             \
    case B:                                                                                    \
        nb_groups(&pl, in, w, residual, res_w, has_res ? res_c : 0, res_stride, rw, groups,   \
                  out, B);                                                                     \
        break;
        NB_CASE(1) NB_CASE(2) NB_CASE(3) NB_CASE(4) NB_CASE(5) NB_CASE(6) NB_CASE(7) NB_CASE(8)
        NB_CASE(9) NB_CASE(10) NB_CASE(11) NB_CASE(12) NB_CASE(13) NB_CASE(14) NB_CASE(15)
        NB_CASE(16)
#undef NB_CASE
    }
    return groups * NB_PIXELS;
}

#endif /* TRIT_NEON_PW_NIBBLE_H */
