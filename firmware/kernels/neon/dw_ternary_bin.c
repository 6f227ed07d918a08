/* NEON flavour: depthwise k x k ternary x binary convolution.
 *
 * 3 x 3 kernels with equal scales (the binary zoo models' depthwise layers) count bit-sliced,
 * 32 channels per lane and four pixels per vector (dw_sliced.h). Otherwise 16 channels per
 * int8 vector: input rows are expanded once into int8 lanes v = +-1 (1 bit = -1, vtst + orr)
 * in a ring of k rows on the stack, [row][x + pad][channel], with zero lanes for the padding,
 * so taps outside the image add 0 without a test. Codes are transposed once per call into
 * c_t[tap][channel] (and |c_t|) and held in registers for 3 x 3 kernels. Per output pixel and
 * 16 channels: S1 += v * c (and S2 += v * |c| for unequal scales; vmlaq_s8, |S| <= k*k <= 127).
 * Equal scales: acc = wp S1; otherwise P = (S2 + S1) / 2 and N = (S2 - S1) / 2 exactly
 * (vhadd/vhsub: the sums are even) and acc = wp P - wn N, in int32 lanes; then thresholds,
 * packed 16 bits at a time into the output word (groups are 16-channel aligned, so each fills
 * half a word). Channels past c in the last group have zero codes and their bits are masked off.
 * Stack: the ring (k * (w + 2 pad) * channels of a slab bytes, at most RING_BYTES: wide inputs go
 * in slabs of channels) and the transposed codes (2 k*k bytes per channel). Kernels of more
 * than 127 taps (k > 11, where the int8 sums could overflow) take a per-channel scalar path
 * through the scratch. */
#include <string.h>

#include "dw_sliced.h"
#include "neon_util.h"

#define GROUP 16
#ifndef TRIT_DW_RING_BYTES /* tests set it small to reach the slab and scalar paths */
#define TRIT_DW_RING_BYTES (128 * 1024)
#endif
#define RING_BYTES ((size_t)TRIT_DW_RING_BYTES) /* the ring of expanded input rows, on the stack */

/* -1/+1 int8 lanes of the 16 activation bits (bit l = lane l, 1 = -1). */
static inline int8x16_t expand16(uint32_t bits) {
    static const uint8_t select[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vcombine_u8(vdup_n_u8((uint8_t)bits), vdup_n_u8((uint8_t)(bits >> 8)));
    const uint8x16_t minus = vtstq_u8(bytes, vld1q_u8(select));
    return vreinterpretq_s8_u8(vorrq_u8(minus, vdupq_n_u8(1)));
}

/* wp * P - wn * N of four lanes, from int16 P and N. */
static inline int32x4_t scale4(int16x4_t p, int16x4_t n, trit_scales_t s) {
    return vmlsq_n_s32(vmulq_n_s32(vmovl_s16(p), s.wp), vmovl_s16(n), s.wn);
}

/* Kernels of more than 127 taps: one channel at a time, int32 sums. */
static void large_kernel(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch,
                         int in_y0, int y0, int y1) {
    const int ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c);
    for (int o = 0; o < (y1 - y0) * ow; ++o) {
        const int oy = y0 + o / ow, ox = o % ow;
        for (int ch = 0; ch < c; ++ch) {
            int32_t p = 0, n = 0;
            for (int t = 0; t < k * k; ++t) {
                const int y = oy * stride + t / k - pad, x = ox * stride + t % k - pad;
                if (y < 0 || y >= h || x < 0 || x >= w || !codes[ch * k * k + t]) continue;
                const uint32_t word = in[((y - in_y0) * w + x) * words + ch / 32];
                const int v = 1 - 2 * (int)((word >> (ch % 32)) & 1u);
                if (codes[ch * k * k + t] > 0) p += v; else n += v;
            }
            scratch[ch] = s.wp * p - s.wn * n;
        }
        trit_threshold_pack(scratch, c, thr, 0, 0, out + o * words);
    }
}

/* Expand padded row yp (0 = the top padding row) of channels c0 .. c0 + sc into dst
 * [(w + 2 pad)][sc] int8 +-1 lanes; zero in the padding. */
static void expand_row(const uint32_t *in, int in_y0, int h, int w, int words, int pad, int yp,
                       int c0, int sc, int8_t *dst) {
    const int y = yp - pad, wpad = w + 2 * pad;
    if (y < 0 || y >= h) {
        memset(dst, 0, (size_t)wpad * sc);
        return;
    }
    memset(dst, 0, (size_t)pad * sc);
    memset(dst + (size_t)(pad + w) * sc, 0, (size_t)pad * sc);
    for (int x = 0; x < w; ++x) {
        const uint32_t *a = in + ((y - in_y0) * w + x) * words;
        int8_t *d = dst + (size_t)(x + pad) * sc;
        for (int g = 0; g < sc; g += GROUP) {
            const int ch = c0 + g;
            vst1q_s8(d + g, expand16(a[ch / 32] >> (ch % 32)));
        }
    }
}

/* Output bits of 16 channels (bit l = channel l, 1 = -1) from S1, S2. */
static inline __attribute__((always_inline)) uint32_t
group_bits(int8x16_t s1, int8x16_t s2, trit_scales_t s, const int32x4_t t[4], uint32_t negative,
           uint32x4_t lane_bits, const int equal) {
    int32x4_t acc[4];
    if (equal) {
        const int16x8_t lo = vmovl_s8(vget_low_s8(s1)), hi = vmovl_s8(vget_high_s8(s1));
        acc[0] = vmulq_n_s32(vmovl_s16(vget_low_s16(lo)), s.wp);
        acc[1] = vmulq_n_s32(vmovl_s16(vget_high_s16(lo)), s.wp);
        acc[2] = vmulq_n_s32(vmovl_s16(vget_low_s16(hi)), s.wp);
        acc[3] = vmulq_n_s32(vmovl_s16(vget_high_s16(hi)), s.wp);
    } else {
        const int8x16_t p8 = vhaddq_s8(s2, s1), n8 = vhsubq_s8(s2, s1);
        const int16x8_t plo = vmovl_s8(vget_low_s8(p8)), phi = vmovl_s8(vget_high_s8(p8));
        const int16x8_t nlo = vmovl_s8(vget_low_s8(n8)), nhi = vmovl_s8(vget_high_s8(n8));
        acc[0] = scale4(vget_low_s16(plo), vget_low_s16(nlo), s);
        acc[1] = scale4(vget_high_s16(plo), vget_high_s16(nlo), s);
        acc[2] = scale4(vget_low_s16(phi), vget_low_s16(nhi), s);
        acc[3] = scale4(vget_high_s16(phi), vget_high_s16(nhi), s);
    }
    uint32x4_t bits = vdupq_n_u32(0), select = lane_bits;
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
        const uint32x4_t b = threshold_bits4(acc[q], t[q], negative >> (4 * q), lane_bits);
        bits = vorrq_u32(bits, vandq_u32(b, select));
        select = vshlq_n_u32(select, 4);
    }
    return sum_u32(bits);
}

/* One output row of one 16-channel group: rows[ky] points at the group's lanes of the ring row
 * of tap row ky; ct/at the group's transposed codes and |codes| (row stride sc); out at the
 * row's first output word of the group. Codes of kernels up to 3 x 3 stay in registers. */
static inline __attribute__((always_inline)) void
group_row(const int8_t *const *rows, int ow, int stride, int sc, const int8_t *ct,
          const int8_t *at, const int k, trit_scales_t s, const int32x4_t t[4],
          uint32_t negative, uint32_t valid, int shift, uint32_t *out, int words,
          const int equal) {
    const uint32x4_t lane_bits = lane_bits4();
    const int kk = k * k;
    int8x16_t cv[9], av[9];
    if (kk <= 9)
#pragma GCC unroll 9
        for (int i = 0; i < kk; ++i) {
            cv[i] = vld1q_s8(ct + i * sc);
            av[i] = vld1q_s8(at + i * sc);
        }
    for (int ox = 0; ox < ow; ++ox) {
        int8x16_t s1 = vdupq_n_s8(0), s2 = vdupq_n_s8(0);
#pragma GCC unroll 3
        for (int ky = 0; ky < k; ++ky) {
            const int8_t *src = rows[ky] + (size_t)ox * stride * sc;
#pragma GCC unroll 3
            for (int kx = 0; kx < k; ++kx) {
                const int i = ky * k + kx;
                const int8x16_t v = vld1q_s8(src + kx * sc);
                s1 = vmlaq_s8(s1, v, kk <= 9 ? cv[i] : vld1q_s8(ct + i * sc));
                if (!equal) s2 = vmlaq_s8(s2, v, kk <= 9 ? av[i] : vld1q_s8(at + i * sc));
            }
        }
        out[ox * words] |= (group_bits(s1, s2, s, t, negative, lane_bits, equal) & valid) << shift;
    }
}

void trit_dw_ternary_bin(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch,
                         const uint32_t *sliced, int in_y0, int y0, int y1) {
    if (k == 3 && s.wp == s.wn &&
        dw3x3_sliced(in, h, w, c, codes, s.wp, stride, pad, thr, out, sliced, in_y0, y0, y1))
        return;
    TRIT_NEON_WIDEN_THRESHOLDS(thr, c);
    const int oh = y1 - y0, ow = (w + 2 * pad - k) / stride + 1; /* oh: rows of the band */
    const int words = TRIT_WORDS(c), kk = k * k;
    const int cpad = (c + GROUP - 1) / GROUP * GROUP, wpad = w + 2 * pad;
    for (int o = 0; o < oh * ow; ++o)
        for (int j = 0; j < words; ++j) out[o * words + j] = 0;
    if (kk > 127 || (size_t)k * wpad * GROUP > RING_BYTES) {
        large_kernel(in, h, w, c, codes, s, k, stride, pad, thr, out, scratch, in_y0, y0, y1);
        return;
    }
    int slab = cpad; /* channels per pass: the ring holds k rows of them */
    while ((size_t)k * wpad * slab > RING_BYTES) slab -= GROUP;
    int8_t ring[k * wpad * slab], code_t[kk * slab], abs_t[kk * slab];
    const int equal = s.wp == s.wn;
    for (int c0 = 0; c0 < cpad; c0 += slab) {
        const int sc = cpad - c0 < slab ? cpad - c0 : slab;
        for (int l = 0; l < sc; ++l)
            for (int t = 0; t < kk; ++t) {
                const int8_t v = c0 + l < c ? codes[(c0 + l) * kk + t] : 0;
                code_t[t * sc + l] = v;
                abs_t[t * sc + l] = (int8_t)(v < 0 ? -v : v);
            }
        int next = y0 * stride; /* next padded input row to expand into the ring */
        for (int oy = y0; oy < y1; ++oy) {
            const int top = oy * stride;
            for (; next < top + k; ++next)
                expand_row(in, in_y0, h, w, words, pad, next, c0, sc,
                           ring + (size_t)(next % k) * wpad * sc);
            for (int g = 0; g < sc; g += GROUP) {
                const int ch = c0 + g, word = ch / 32, shift = ch % 32;
                int32_t thr_g[GROUP];
                for (int l = 0; l < GROUP; ++l)
                    thr_g[l] = ch + l >= c ? 0
                               : thr->has_residual ? trit_threshold_at(thr, 3 * (ch + l) + 1)
                                                   : trit_threshold_at(thr, ch + l);
                const int32x4_t t[4] = {vld1q_s32(thr_g), vld1q_s32(thr_g + 4),
                                        vld1q_s32(thr_g + 8), vld1q_s32(thr_g + 12)};
                const uint32_t negative = thr->negative[word] >> shift;
                const uint32_t valid = c - ch >= GROUP ? 0xFFFFu : (1u << (c - ch)) - 1u;
                const int8_t *rows[k];
                for (int ky = 0; ky < k; ++ky)
                    rows[ky] = ring + (size_t)((top + ky) % k) * wpad * sc + g;
                uint32_t *o = out + (size_t)(oy - y0) * ow * words + word;
                if (k == 3 && equal)
                    group_row(rows, ow, stride, sc, code_t + g, abs_t + g, 3, s, t, negative,
                              valid, shift, o, words, 1);
                else if (k == 3)
                    group_row(rows, ow, stride, sc, code_t + g, abs_t + g, 3, s, t, negative,
                              valid, shift, o, words, 0);
                else
                    group_row(rows, ow, stride, sc, code_t + g, abs_t + g, k, s, t, negative,
                              valid, shift, o, words, 0);
            }
        }
    }
}
