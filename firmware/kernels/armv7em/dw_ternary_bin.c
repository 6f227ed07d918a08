/* ARMv7E-M flavour: depthwise 3x3 (or smaller) ternary x binary convolution, bit-sliced over
 * 32 channels per word.
 *
 * For each output pixel and channel word, tap t gives x_t = (a_t ^ s_t) & nz_t (lanes whose
 * product is -1) and y_t = a_t & nz_t (lanes whose input is -1 under a non-zero weight); taps
 * outside the image give 0. count9() adds the nine vectors into 4-bit sliced counters cnt and
 * cnt_t. With n the number of in-image non-zero taps of a channel:
 *   acc = wp * n - (wp - wn) * cnt_t - (wp + wn) * cnt.
 * Equal scales (wp == wn = alpha): acc = alpha * (n - 2 cnt), and the threshold becomes a count
 * limit per channel that depends only on which taps are inside the image (at most nine border
 * classes per call); the output word is one sliced compare, no per-channel work per pixel.
 * Unequal scales: per-channel accumulators from the sliced counters, then threshold-and-pack.
 * With Helium (Cortex-M55), runs of interior pixels go four pixels per 128-bit vector (layers
 * of more than 16 channels; contiguous loads for one channel word at stride 1, gather loads
 * otherwise). */
#include "bitcount.h"
#include "trit/kernels.h"

#define MAX_TAPS 9
#define MAX_CLASSES 9

static void dw_general_k(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *acc) {
    /* kernels larger than 3x3: channel by channel (not used by the shipped models) */
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c);
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
            for (int ch = 0; ch < c; ++ch) {
                int32_t sum = 0;
                for (int ky = 0; ky < k; ++ky)
                    for (int kx = 0; kx < k; ++kx) {
                        const int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                        const int code = codes[ch * k * k + ky * k + kx];
                        if (y < 0 || y >= h || x < 0 || x >= w || !code) continue;
                        const int neg = (int)((in[(y * w + x) * words + (ch >> 5)] >> (ch & 31)) & 1u);
                        sum += (code > 0 ? s.wp : -s.wn) * (neg ? -1 : 1);
                    }
                acc[ch] = sum;
            }
            trit_threshold_pack(acc, c, thr, 0, 0, out + (oy * ow + ox) * words);
        }
}

/* The nine tap words of channel word g, as sliced 1-bit vectors, counted into b[0..3]:
 * XT(t) is the vector of tap t (3x3 position t = ky * 3 + kx). */
#define COUNT9(b, XT)                                                                          \
    do {                                                                                       \
        __typeof__((b)[0]) s1_, s2_, s3_, c1_, c2_, c3_, c4_, s5_, d1_;                        \
        FULL_ADD(s1_, c1_, XT(0), XT(1), XT(2));                                               \
        FULL_ADD(s2_, c2_, XT(3), XT(4), XT(5));                                               \
        FULL_ADD(s3_, c3_, XT(6), XT(7), XT(8));                                               \
        FULL_ADD((b)[0], c4_, s1_, s2_, s3_);                                                  \
        FULL_ADD(s5_, d1_, c1_, c2_, c3_);                                                     \
        (b)[1] = s5_ ^ c4_;                                                                    \
        const __typeof__((b)[0]) d2_ = s5_ & c4_;                                              \
        (b)[2] = d1_ ^ d2_;                                                                    \
        (b)[3] = d1_ & d2_;                                                                    \
    } while (0)

/* Bit 0 of bytes 0..3 of x as bits 0..3: one multiply lands the four bits at 28..31 (the other
 * partial products fall on distinct lower bits, so nothing carries into them). */
static inline uint32_t byte_lsbs(uint32_t x) {
    x &= 0x01010101u;
#if defined(__GNUC__) && defined(__thumb2__)
    __asm__("mul %0, %0, %1" : "+r"(x) : "r"(0x10204080u)); /* not shifts and adds */
#else
    x *= 0x10204080u;
#endif
    return x >> 28;
}

/* Four channels' code bytes of one tap, 9 bytes apart (codes [C][9]), as bytes 0..3 of a word. */
static inline uint32_t tap_bytes4(const uint8_t *e) {
    return e[0] | (uint32_t)e[9] << 8 | (uint32_t)e[18] << 16 | (uint32_t)e[27] << 24;
}

/* Bias planes [words][6]: bit l of plane j of word g = bit j of bias2[g * 32 + l] (6-bit two's
 * complement, bias2 in [-32, 30]; lanes past c: 0). Built once per call for class_limits. */
static void bias_planes(int c, const int32_t *bias2, uint32_t *bp) {
    for (int g = 0; g < TRIT_WORDS(c); ++g) {
        uint32_t b[6] = {0, 0, 0, 0, 0, 0};
        for (int l = 0; l < 32 && g * 32 + l < c; ++l) {
            const uint32_t v = (uint32_t)bias2[g * 32 + l];
#pragma GCC unroll 6
            for (int j = 0; j < 6; ++j) b[j] |= ((v >> j) & 1u) << l;
        }
        for (int j = 0; j < 6; ++j) bp[6 * g + j] = b[j];
    }
}

/* Count-limit planes of one border class (valid-tap mask v, bit t = tap t inside the image)
 * for equal scales, 32 channels at a time in bit-sliced arithmetic. A channel's limit is
 * floor((n + bias2) / 2) clamped to [-1, n], with n its non-zero taps inside the image and
 * bias2 folding the threshold and the direction; the planes hold limit + 1 in [0, 10] (output
 * -1 iff cnt >= limit + 1, XOR direction). Per word: n from the taps' non-zero planes (sz
 * pairs, tap stride tw), u = n + bias2 (7-bit signed), f = u >> 1, then L = 0 where f < 0,
 * n + 1 where f > n, f + 1 elsewhere. */
static void class_limits(int words, int tw, uint32_t v, const uint32_t *sz, const uint32_t *bp,
                         uint32_t *planes /* [words][4] */) {
    uint32_t keep[MAX_TAPS];
#pragma GCC unroll 9
    for (int t = 0; t < MAX_TAPS; ++t) keep[t] = 0u - ((v >> t) & 1u);
    for (int g = 0; g < words; ++g) {
        const uint32_t *b = bp + 6 * g;
        uint32_t n[4], u1, u2, u3, u4, u5, u6, c;
#define XT(t) (sz[(t) * tw + 2 * g + 1] & keep[t])
        COUNT9(n, XT);
#undef XT
        c = n[0] & b[0]; /* bit 0 of u only decides the rounding of f: dropped */
        FULL_ADD(u1, c, n[1], b[1], c);
        FULL_ADD(u2, c, n[2], b[2], c);
        FULL_ADD(u3, c, n[3], b[3], c);
        u4 = b[4] ^ c;
        c &= b[4];
        u5 = b[5] ^ c;
        c &= b[5];
        u6 = b[5] ^ c; /* the sign of u: bias2's sign bit extended, plus the carry */
        /* f = u >> 1: bits u1 .. u5, sign u6, in [-16, 19]. f > n where bit 4 (f >= 16) is
         * set or bits 3..0 compare greater */
        uint32_t gt = u4 & ~n[3], eq = ~(u4 ^ n[3]);
        gt |= eq & u3 & ~n[2];
        eq &= ~(u3 ^ n[2]);
        gt |= eq & u2 & ~n[1];
        eq &= ~(u2 ^ n[1]);
        gt |= eq & u1 & ~n[0];
        gt |= u5;
        /* m = n where f > n, else f (then f <= n <= 9: four bits); L = m + 1, 0 where f < 0 */
        const uint32_t m0 = (n[0] & gt) | (u1 & ~gt), m1 = (n[1] & gt) | (u2 & ~gt);
        const uint32_t m2 = (n[2] & gt) | (u3 & ~gt), m3 = (n[3] & gt) | (u4 & ~gt);
        const uint32_t pos = ~u6;
        planes[g * 4] = ~m0 & pos;
        planes[g * 4 + 1] = (m1 ^ m0) & pos;
        planes[g * 4 + 2] = (m2 ^ (m0 & m1)) & pos;
        planes[g * 4 + 3] = (m3 ^ (m0 & m1 & m2)) & pos;
    }
}

/* Equal scales, 3x3, every tap inside the image: the output word of channel word g at a pixel
 * whose top-left tap word is p (row pitch `pitch` words). sz: {sign, non-zero} pairs of
 * channel word g, tap stride 2 * words; limits: the interior class's 4 count-limit planes. */
static inline __attribute__((always_inline)) uint32_t dw3x3_interior_word(const uint32_t *p, int pitch, int words,
                                           const uint32_t *sz, const uint32_t *limits,
                                           uint32_t negative, uint32_t lanes) {
    const int tw = 2 * words;
#define XT(t) ((p[((t) / 3) * pitch + ((t) % 3) * words] ^ sz[(t) * tw]) & sz[(t) * tw + 1])
    uint32_t cnt[4];
    COUNT9(cnt, XT);
#undef XT
    return (sliced_ge4(cnt, limits) ^ negative) & lanes;
}

/* Two horizontally adjacent interior pixels of a one-word layer at stride 1: p is the first
 * one's top-left tap word, the second's taps are one word to the right. Every weight pair is
 * loaded once for both and the middle two tap columns are loaded once. */
static inline __attribute__((always_inline)) void dw3x3_interior_pair1(
    const uint32_t *p, int pitch, const uint32_t *sz, const uint32_t *limits, uint32_t negative,
    uint32_t lanes, uint32_t *dst) {
    uint32_t xa[9], xb[9];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky) {
        const uint32_t *r = p + ky * pitch;
        const uint32_t c0 = r[0], c1 = r[1], c2 = r[2], c3 = r[3];
        const uint32_t *q = sz + 6 * ky;
        xa[3 * ky] = (c0 ^ q[0]) & q[1];
        xb[3 * ky] = (c1 ^ q[0]) & q[1];
        xa[3 * ky + 1] = (c1 ^ q[2]) & q[3];
        xb[3 * ky + 1] = (c2 ^ q[2]) & q[3];
        xa[3 * ky + 2] = (c2 ^ q[4]) & q[5];
        xb[3 * ky + 2] = (c3 ^ q[4]) & q[5];
    }
    uint32_t ca[4], cb[4];
#define XA(t) xa[t]
#define XB(t) xb[t]
    COUNT9(ca, XA);
    COUNT9(cb, XB);
#undef XA
#undef XB
    dst[0] = (sliced_ge4(ca, limits) ^ negative) & lanes;
    dst[1] = (sliced_ge4(cb, limits) ^ negative) & lanes;
}

#ifdef __ARM_FEATURE_MVE
#include <arm_mve.h>

/* Helium: four consecutive interior output pixels (stride 1, one channel word) at once, pixel j
 * in 32-bit lane j: their tap words are four consecutive words of each input row. */
static inline __attribute__((always_inline)) void dw3x3_interior_quad(
    const uint32_t *p, int pitch, const uint32_t *sz, const uint32_t *limits, uint32_t negative,
    uint32_t lanes, uint32_t *dst) {
#define XT(t) ((vld1q_u32(p + ((t) / 3) * pitch + (t) % 3) ^ sz[2 * (t)]) & sz[2 * (t) + 1])
    uint32x4_t cnt[4], ge;
    COUNT9(cnt, XT);
#undef XT
    SLICED_GE4(ge, cnt, limits);
    vst1q_u32(dst, (ge ^ negative) & lanes);
}

/* The same for any stride and channel word g of `words`: the four pixels' tap words are
 * `at` words apart (gather loads), their output words `words` apart (scatter store); sz and
 * limits are those of word g (taps 2 * words apart). */
static inline __attribute__((always_inline)) void dw3x3_interior_quad_gather(
    const uint32_t *p, int pitch, int words, uint32x4_t at, const uint32_t *sz,
    const uint32_t *limits, uint32_t negative, uint32_t lanes, uint32_t *dst, uint32x4_t to) {
    const int tw = 2 * words;
#define XT(t)                                                                                  \
    ((vldrwq_gather_shifted_offset_u32(p + ((t) / 3) * pitch + ((t) % 3) * words, at) ^        \
      sz[(t) * tw]) & sz[(t) * tw + 1])
    uint32x4_t cnt[4], ge;
    COUNT9(cnt, XT);
#undef XT
    SLICED_GE4(ge, cnt, limits);
    vstrwq_scatter_shifted_offset_u32(dst, to, (ge ^ negative) & lanes);
}
#endif

void trit_dw_ternary_bin(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch) {
    if (k > 3) {
        dw_general_k(in, h, w, c, codes, s, k, stride, pad, thr, out, scratch);
        return;
    }
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c), tw = 2 * words;
    const int equal = s.wp == s.wn && s.wp > 0;
    /* scratch: {sign, non-zero} plane pairs [9 taps at their 3x3 position][words][2] (zero for
     * k < 3), zero words [words], tap masks [c], then equal scales: biases [c], class keys
     * [9], class count-limit planes [9][words][4], pair duplicates [22], bias planes
     * [words][6], class weights [9][9][words][2] where they fit; unequal scales:
     * accumulators [c] */
    uint32_t *sz = (uint32_t *)scratch, *zeros = sz + MAX_TAPS * tw;
    int32_t *mask = (int32_t *)(zeros + words);
    int32_t *bias = mask + c, *acc = mask + c;
    int32_t *keys = bias + c;
    uint32_t *class_planes = (uint32_t *)(keys + MAX_CLASSES);
    /* c <= 16: two interior pixels share a word (lanes 0-15 and 16-31); planes and limits
     * duplicated into both halves, after the class planes */
    uint32_t *dup = class_planes + MAX_CLASSES * words * 4;
    uint32_t *bp = dup + 2 * MAX_TAPS + 4; /* equal scales: bias planes [words][6] */
    /* each border class's {sign, non-zero} pairs with the taps outside the image cleared
     * [MAX_CLASSES][9][words][2] (the layout of sz), after the bias planes */
    uint32_t *class_w = bp + 6 * words;
    for (int i = 0; i < MAX_TAPS * tw + words; ++i) sz[i] = 0;
    if (k == 3) {
        /* tap t's planes, four channels at a time: their code bytes (9 apart) in one word,
         * then bit 0 (non-zero) and bit 7 (-1) of each byte gathered by one multiply */
        for (int g = 0; g < words; ++g)
            for (int t = 0; t < MAX_TAPS; ++t) {
                const uint8_t *cd = (const uint8_t *)codes + g * 32 * 9 + t;
                uint32_t nzw = 0, negw = 0;
                if (g * 32 + 32 <= c) { /* a full word: offsets and shifts constant */
#pragma GCC unroll 8
                    for (int q = 0; q < 8; ++q) {
                        const uint32_t b = tap_bytes4(cd + 36 * q);
                        nzw |= byte_lsbs(b) << (4 * q);
                        negw |= byte_lsbs(b >> 7) << (4 * q);
                    }
                } else { /* the last word's channels: by four, then one by one */
                    int j = 0;
                    for (; g * 32 + j + 4 <= c; j += 4) {
                        const uint32_t b = tap_bytes4(cd + 9 * j);
                        nzw |= byte_lsbs(b) << j;
                        negw |= byte_lsbs(b >> 7) << j;
                    }
                    for (; g * 32 + j < c; ++j) {
                        const uint32_t v = cd[9 * j];
                        nzw |= (v & 1u) << j;
                        negw |= (v >> 7) << j;
                    }
                }
                sz[t * tw + 2 * g] = negw;
                sz[t * tw + 2 * g + 1] = nzw;
            }
        if (!equal) /* the per-channel 9-bit masks of the unequal-scale path */
            for (int ch = 0; ch < c; ++ch) {
                const int8_t *cd = codes + ch * 9;
                mask[ch] = (int32_t)(byte_lsbs(trit_load_u32(cd)) |
                                     byte_lsbs(trit_load_u32(cd + 4)) << 4 |
                                     ((uint32_t)cd[8] & 1u) << 8);
            }
    } else
    for (int ch = 0; ch < c; ++ch) {
        int32_t msk = 0;
        for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
                const int code = codes[ch * k * k + ky * k + kx], t = ky * 3 + kx;
                if (!code) continue;
                msk |= 1 << t;
                uint32_t *pair = sz + t * tw + 2 * (ch >> 5);
                pair[1] |= 1u << (ch & 31);
                if (code < 0) pair[0] |= 1u << (ch & 31);
            }
        mask[ch] = msk;
    }
    if (equal) {
        const int cols = thr->has_residual ? 3 : 1, col = thr->has_residual ? 1 : 0;
        for (int ch = 0; ch < c; ++ch) {
            const int32_t t = thr->threshold[ch * cols + col];
            const int negative = (int)((thr->negative[ch >> 5] >> (ch & 31)) & 1u);
            /* +: limit = floor((n - ceil(t/a)) / 2); -: limit = ceil((n - floor(t/a)) / 2) - 1 */
            int32_t b = negative ? 1 - clamp_count(floor_div(t, s.wp))
                                 : -clamp_count(ceil_div(t, s.wp));
            if (b > 30) b = 30;
            if (b < -30) b = -30;
            bias[ch] = b - 2 * negative; /* floor((n + b) / 2) - negative */
        }
        bias_planes(c, bias, bp);
        for (int i = 0; i < MAX_CLASSES; ++i) keys[i] = -1;
    }
    const int last_lanes = c - (words - 1) * 32;
    const uint32_t last_mask = last_lanes == 32 ? ~0u : (1u << last_lanes) - 1u;
    /* output pixels whose 3x3 window lies inside the image */
    const int in_y0 = (pad + stride - 1) / stride, in_y1 = (h - 3 + pad) / stride;
    const int in_x0 = (pad + stride - 1) / stride, in_x1 = (w - 3 + pad) / stride;
    const uint32_t *interior = 0;
    if (equal && k == 3 && in_y0 <= in_y1 && in_x0 <= in_x1) {
        keys[0] = 0x1FF;
        class_limits(words, tw, 0x1FF, sz, bp, class_planes);
        interior = class_planes;
    }
    const int masked = equal && k == 3 &&
                       (int)(class_w + MAX_CLASSES * MAX_TAPS * tw - (uint32_t *)scratch) <=
                           TRIT_SCRATCH_INTS(c);
    const int pairs = interior && c <= 16 &&
                      (int)(dup + 2 * MAX_TAPS + 4 - (uint32_t *)scratch) <= TRIT_SCRATCH_INTS(c);
    if (pairs) {
        for (int i = 0; i < 2 * MAX_TAPS; ++i) dup[i] = sz[i] | (sz[i] << 16);
        for (int b = 0; b < 4; ++b) /* lanes past c hold limits too: keep the low half's out */
            dup[2 * MAX_TAPS + b] = (interior[b] & 0xFFFFu) | (interior[b] << 16);
    }
    for (int oy = 0; oy < oh; ++oy) {
        const uint32_t *row[3];
        int row_ok[3];
        for (int ky = 0; ky < 3; ++ky) {
            const int y = oy * stride + ky - pad;
            row_ok[ky] = ky < k && y >= 0 && y < h;
            row[ky] = in + (row_ok[ky] ? y : 0) * w * words;
        }
        const int row_inside = oy >= in_y0 && oy <= in_y1;
        for (int ox = 0; ox < ow; ++ox) {
            uint32_t *dst = out + (oy * ow + ox) * words;
            if (interior && row_inside && ox >= in_x0 && ox <= in_x1) {
                /* a run of interior pixels; the word count as a constant where it is 1 or 2 */
                const int pitch = w * words, step = stride * words;
                const uint32_t *p = row[0] + (ox * stride - pad) * words;
                const uint32_t neg0 = thr->negative[0];
                if (pairs) {
                    const uint32_t neg2 = neg0 | (neg0 << 16);
                    for (; ox + 1 <= in_x1; ox += 2, p += 2 * step, dst += 2) {
                        const uint32_t *q = p + step;
#define XT(t) (((p[((t) / 3) * pitch + (t) % 3] | (q[((t) / 3) * pitch + (t) % 3] << 16)) ^ \
                dup[2 * (t)]) & dup[2 * (t) + 1])
                        uint32_t cnt[4];
                        COUNT9(cnt, XT);
#undef XT
                        const uint32_t word = sliced_ge4(cnt, dup + 2 * MAX_TAPS) ^ neg2;
                        dst[0] = word & last_mask;
                        dst[1] = (word >> 16) & last_mask;
                    }
                    for (; ox <= in_x1; ++ox, p += step, dst += 1)
                        dst[0] = dw3x3_interior_word(p, pitch, 1, sz, interior, neg0, last_mask);
                } else if (words == 1) {
#ifdef __ARM_FEATURE_MVE
                    if (stride == 1)
                        for (; ox + 3 <= in_x1; ox += 4, p += 4, dst += 4)
                            dw3x3_interior_quad(p, pitch, sz, interior, neg0, last_mask, dst);
#endif
#ifndef __ARM_FEATURE_MVE
                    if (stride == 1)
                        for (; ox + 1 <= in_x1; ox += 2, p += 2, dst += 2)
                            dw3x3_interior_pair1(p, pitch, sz, interior, neg0, last_mask, dst);
#endif
                    for (; ox <= in_x1; ++ox, p += step, dst += 1)
                        dst[0] = dw3x3_interior_word(p, pitch, 1, sz, interior, neg0, last_mask);
                } else if (words == 2) {
                    const uint32_t neg1 = thr->negative[1];
#ifdef __ARM_FEATURE_MVE
                    for (; ox + 3 <= in_x1; ox += 4, p += 4 * step, dst += 8) {
                        const uint32x4_t at = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)step);
                        const uint32x4_t to = vmulq_n_u32(vidupq_n_u32(0, 1), 2u);
                        dw3x3_interior_quad_gather(p, pitch, 2, at, sz, interior, neg0, ~0u,
                                                   dst, to);
                        dw3x3_interior_quad_gather(p + 1, pitch, 2, at, sz + 2, interior + 4,
                                                   neg1, last_mask, dst + 1, to);
                    }
#endif
                    for (; ox <= in_x1; ++ox, p += step, dst += 2) {
                        dst[0] = dw3x3_interior_word(p, pitch, 2, sz, interior, neg0, ~0u);
                        dst[1] = dw3x3_interior_word(p + 1, pitch, 2, sz + 2, interior + 4, neg1,
                                                     last_mask);
                    }
                } else {
#ifdef __ARM_FEATURE_MVE
                    for (; ox + 3 <= in_x1; ox += 4, p += 4 * step, dst += 4 * words) {
                        const uint32x4_t at = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)step);
                        const uint32x4_t to = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)words);
                        for (int g = 0; g < words; ++g)
                            dw3x3_interior_quad_gather(p + g, pitch, words, at, sz + 2 * g,
                                                       interior + 4 * g, thr->negative[g],
                                                       g == words - 1 ? last_mask : ~0u,
                                                       dst + g, to);
                    }
#endif
                    if (words == 3) /* the word count as a constant: tap offsets fold */
                        for (; ox <= in_x1; ++ox, p += step, dst += 3)
                            for (int g = 0; g < 3; ++g)
                                dst[g] = dw3x3_interior_word(p + g, pitch, 3, sz + 2 * g,
                                                             interior + 4 * g, thr->negative[g],
                                                             g == 2 ? last_mask : ~0u);
                    for (; ox <= in_x1; ++ox, p += step, dst += words)
                        for (int g = 0; g < words; ++g)
                            dst[g] = dw3x3_interior_word(p + g, pitch, words, sz + 2 * g,
                                                         interior + 4 * g, thr->negative[g],
                                                         g == words - 1 ? last_mask : ~0u);
                }
                --ox; /* the loop's ++ox moves to the first pixel after the run */
                continue;
            }
            /* border (or unequal scales): taps outside the image read zeros, masked out */
            uint32_t cols = 0; /* bit kx = column kx inside */
            int xw[3];         /* word offsets of the three columns (0 outside: a valid word) */
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; ++kx) {
                const int x = ox * stride + kx - pad, ok = kx < k && x >= 0 && x < w;
                xw[kx] = ok ? x * words : 0;
                cols |= (uint32_t)ok << kx;
            }
            const uint32_t v = (row_ok[0] ? cols : 0u) | (row_ok[1] ? cols << 3 : 0u) |
                               (row_ok[2] ? cols << 6 : 0u); /* bit t = tap t inside */
            uint32_t *limits = 0, *cw = 0;
            if (equal) {
                int cls = 0;
                while (cls < MAX_CLASSES && keys[cls] != (int32_t)v && keys[cls] != -1) ++cls;
                if (cls == MAX_CLASSES) { /* more classes than slots: reuse the last one */
                    cls = MAX_CLASSES - 1;
                    keys[cls] = -1;
                }
                limits = class_planes + cls * words * 4;
                cw = class_w + cls * MAX_TAPS * tw;
                if (keys[cls] == -1) {
                    keys[cls] = (int32_t)v;
                    class_limits(words, tw, v, sz, bp, limits);
                    if (masked)
                        for (int t = 0; t < MAX_TAPS; ++t) {
                            const uint32_t keep = 0u - ((v >> t) & 1u);
                            for (int i = 0; i < tw; ++i) cw[t * tw + i] = sz[t * tw + i] & keep;
                        }
                }
                if (masked) { /* the class's weights mask the outside taps */
                    const uint32_t *r0 = row[0], *r1 = row[1], *r2 = row[2];
                    const int x0 = xw[0], x1 = xw[1], x2 = xw[2];
#define TAPW(t, g)                                                                             \
    ((t) / 3 == 0 ? r0 : (t) / 3 == 1 ? r1 : r2)[((t) % 3 == 0 ? x0 : (t) % 3 == 1 ? x1 : x2) + (g)]
                    if (words == 1) {
#define XT(t) ((TAPW(t, 0) ^ cw[2 * (t)]) & cw[2 * (t) + 1])
                        uint32_t cnt[4];
                        COUNT9(cnt, XT);
#undef XT
                        dst[0] = (sliced_ge4(cnt, limits) ^ thr->negative[0]) & last_mask;
                    } else {
                        for (int g = 0; g < words; ++g) {
                            const uint32_t *q = cw + 2 * g;
#define XT(t) ((TAPW(t, g) ^ q[(t) * tw]) & q[(t) * tw + 1])
                            uint32_t cnt[4];
                            COUNT9(cnt, XT);
#undef XT
                            const uint32_t lanes = g == words - 1 ? last_mask : ~0u;
                            dst[g] = (sliced_ge4(cnt, limits + g * 4) ^ thr->negative[g]) & lanes;
                        }
                    }
#undef TAPW
                    continue;
                }
            }
            const uint32_t *tap[MAX_TAPS];
            uint32_t valid[MAX_TAPS];
#pragma GCC unroll 9
            for (int t = 0; t < MAX_TAPS; ++t) {
                const uint32_t inside = (v >> t) & 1u;
                tap[t] = inside ? row[t / 3] + xw[t % 3] : zeros;
                valid[t] = 0u - inside;
            }
            if (equal) {
                for (int g = 0; g < words; ++g) {
                    const uint32_t *q = sz + 2 * g;
                    uint32_t cnt[4];
#define XT(t) ((tap[t][g] ^ q[(t) * tw]) & q[(t) * tw + 1] & valid[t])
                    COUNT9(cnt, XT);
#undef XT
                    const uint32_t lanes = g == words - 1 ? last_mask : ~0u;
                    dst[g] = (sliced_ge4(cnt, limits + g * 4) ^ thr->negative[g]) & lanes;
                }
            } else {
                for (int g = 0; g < words; ++g) {
                    const uint32_t *q = sz + 2 * g;
                    uint32_t cnt[4], cnt_t[4];
#define XT(t) ((tap[t][g] ^ q[(t) * tw]) & q[(t) * tw + 1] & valid[t])
#define YT(t) (tap[t][g] & q[(t) * tw + 1])
                    COUNT9(cnt, XT);
                    COUNT9(cnt_t, YT);
#undef XT
#undef YT
                    for (int ch = g * 32; ch < c && ch < g * 32 + 32; ++ch) {
                        const int n = (int)byte_sum(nibble_counts((uint32_t)mask[ch] & v), 0u);
                        acc[ch] = s.wp * n - (s.wp - s.wn) * sliced_lane4(cnt_t, ch & 31) -
                                  (s.wp + s.wn) * sliced_lane4(cnt, ch & 31);
                    }
                }
                trit_threshold_pack(acc, c, thr, 0, 0, dst);
            }
        }
    }
}
