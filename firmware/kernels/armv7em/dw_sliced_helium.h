/* Private helper of the ARMv7E-M depthwise kernel on Helium (Cortex-M55): 3x3, equal scales,
 * up to three channel words (96 channels; VLD2 splits two, three take gather loads and scatter
 * stores) at stride 1, up to two at stride 2 (VLD2 / VLD4 split even and odd pixels), with the
 * generator's sliced constants; every output pixel four at a time, pixel j of a vector in
 * 32-bit lane j.
 *
 * As the interior quads of dw_ternary_bin.c (x_t = (a_t ^ sign_t) & nz_t, a 4-bit count,
 * (count >= limit) XOR direction), but the border pixels too: the input rows are copied into a
 * ring of three rows with one padding word on each side, and before each output row the padding
 * words of the rows it reads are set to the sign planes of the taps that read them (the left
 * padding is read by tap column 0 of pixel 0 only, the right one by tap column 2 of the last
 * pixel), so a border tap gives x_t = 0 without a mask; the border lanes take their border
 * class's count limits. The compare is the carry out of count + ~limit + 1. The last vector of
 * a row overlaps its predecessor where the width is not a multiple of 4. */
#ifndef TRIT_ARMV7EM_DW_SLICED_HELIUM_H
#define TRIT_ARMV7EM_DW_SLICED_HELIUM_H

#ifdef __ARM_FEATURE_MVE
#include <arm_mve.h>

#include "trit/kernels.h"

#define HL_TAPS 9
#define HL_CLASSES 9

/* a + b + c = s + 2 k on 32-bit lanes */
static inline void hl_fa(uint32x4_t a, uint32x4_t b, uint32x4_t c, uint32x4_t *s,
                         uint32x4_t *k) {
    const uint32x4_t t = veorq_u32(a, b);
    *s = veorq_u32(t, c);
    *k = vorrq_u32(vandq_u32(a, b), vandq_u32(t, c));
}

/* Bit mask of taps 0..2 along an axis of n inputs inside it, for output position o. */
static inline uint32_t hl_axis(int n, int o, int stride, int pad) {
    uint32_t m = 0;
    for (int k = 0; k < 3; ++k) {
        const int i = o * stride + k - pad;
        m |= (uint32_t)(i >= 0 && i < n) << k;
    }
    return m;
}

/* The class slot of tap mask (row mask r, column mask cm) in the generator's keys. */
static inline int hl_class(const uint32_t *keys, int m, uint32_t r, uint32_t cm) {
    const uint32_t v = ((r & 1u) ? cm : 0u) | ((r & 2u) ? cm << 3 : 0u) | ((r & 4u) ? cm << 6 : 0u);
    for (int j = 0; j < m; ++j)
        if (keys[j] == v) return j;
    return 0; /* not reached: the generator lists every class of the map */
}

/* The ~limit planes limits[4 j .. 4 j + 3] (masked to the valid lanes) into every lane, or lane
 * 0 / lane 3. */
static inline void hl_limits(const uint32_t *limits, int j, uint32_t lanes, int lane,
                             uint32x4_t nl[4]) {
    for (int b = 0; b < 4; ++b) {
        const uint32_t v = ~limits[j * 4 + b] & lanes;
        nl[b] = lane < 0 ? vdupq_n_u32(v) : lane == 0 ? vsetq_lane_u32(v, nl[b], 0)
                                                      : vsetq_lane_u32(v, nl[b], 3);
    }
}

/* Word g of four consecutive pixels from p, W words a pixel (1..3): VLD2 de-interleaves two
 * words, three take a gather load (word offsets {0, 3, 6, 9} + g). */
static inline __attribute__((always_inline)) uint32x4_t hl_load(const uint32_t *p, const int W,
                                                                const int g) {
    if (W == 1) return vld1q_u32(p);
    if (W == 2) return vld2q_u32(p).val[g];
    return vldrwq_gather_shifted_offset_u32(p + g, vmulq_n_u32(vidupq_n_u32(0, 1), 3u));
}

/* Word g of the even (odd = 0) or odd (odd = 1) pixels of eight consecutive ones from p, W
 * words a pixel (1 or 2): VLD2 / VLD4 split them. */
static inline __attribute__((always_inline)) uint32x4_t hl_load2(const uint32_t *p, const int W,
                                                                 const int g, const int odd) {
    if (W == 1) return vld2q_u32(p).val[odd];
    return vld4q_u32(p).val[2 * odd + g];
}

/* Channel word g of four output pixels from x0 on: rows[ky] the ring row of tap row ky (at
 * pixel 0), used where bit ky of `valid` is set (a constant for the inner rows after inlining);
 * sg, nz [9][W] the taps' planes, nl the word's ~limit planes, neg its direction bits. */
static inline __attribute__((always_inline)) uint32x4_t
hl_quad(const uint32_t *const rows[3], int x0, int pad, const int W, const int S, const int g,
        const uint32x4_t *sg, const uint32x4_t *nz, const uint32x4_t *nl, uint32x4_t neg,
        const uint32_t valid) {
    uint32x4_t s[3], k[3];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky) {
        if (!((valid >> ky) & 1u)) {
            s[ky] = k[ky] = vdupq_n_u32(0);
            continue;
        }
        const uint32_t *p = rows[ky] + (x0 * S - pad) * W;
        const int t = ky * 3 * W + g;
        /* the three tap columns' words of the four pixels (stride 2: even, odd, even again) */
        const uint32x4_t a = S == 1 ? hl_load(p, W, g) : hl_load2(p, W, g, 0);
        const uint32x4_t b = S == 1 ? hl_load(p + W, W, g) : hl_load2(p, W, g, 1);
        const uint32x4_t c = S == 1 ? hl_load(p + 2 * W, W, g) : hl_load2(p + 2 * W, W, g, 0);
        hl_fa(vandq_u32(veorq_u32(a, sg[t]), nz[t]), vandq_u32(veorq_u32(b, sg[t + W]), nz[t + W]),
              vandq_u32(veorq_u32(c, sg[t + 2 * W]), nz[t + 2 * W]), &s[ky], &k[ky]);
    }
    uint32x4_t c0, c4, s5, d1;
    hl_fa(s[0], s[1], s[2], &c0, &c4);
    hl_fa(k[0], k[1], k[2], &s5, &d1);
    const uint32x4_t c1 = veorq_u32(s5, c4), d2 = vandq_u32(s5, c4);
    const uint32x4_t cnt[4] = {c0, c1, veorq_u32(d1, d2), vandq_u32(d1, d2)};
    uint32x4_t ge = vorrq_u32(cnt[0], nl[0]); /* carries of cnt + ~L + 1 */
#pragma GCC unroll 3
    for (int b = 1; b < 4; ++b) {
        const uint32x4_t x = veorq_u32(cnt[b], nl[b]);
        ge = vorrq_u32(vandq_u32(x, ge), vbicq_u32(cnt[b], x));
    }
    return veorq_u32(ge, neg);
}

/* Four output pixels from x0 on, every channel word, stored at dst. */
static inline __attribute__((always_inline)) void
hl_pixels4(const uint32_t *const rows[3], int x0, int pad, const int W, const int S,
           const uint32x4_t *sg,
           const uint32x4_t *nz, const uint32x4_t (*nl)[4], const uint32x4_t *neg,
           uint32_t *dst, const uint32_t valid) {
    if (W == 1) {
        vst1q_u32(dst, hl_quad(rows, x0, pad, 1, S, 0, sg, nz, nl[0], neg[0], valid));
    } else if (W == 2) {
        const uint32x4_t o0 = hl_quad(rows, x0, pad, 2, S, 0, sg, nz, nl[0], neg[0], valid);
        const uint32x4_t o1 = hl_quad(rows, x0, pad, 2, S, 1, sg, nz, nl[1], neg[1], valid);
        const uint32x4x2_t o = {{o0, o1}};
        vst2q_u32(dst, o);
    } else { /* a scatter store per word, W words apart */
        const uint32x4_t at = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)W);
#pragma GCC unroll 3
        for (int g = 0; g < W; ++g)
            vstrwq_scatter_shifted_offset_u32(
                dst + g, at, hl_quad(rows, x0, pad, W, S, g, sg, nz, nl[g], neg[g], valid));
    }
}

/* One output row's vectors (the last overlapping its predecessor). nl_*: [W][4]. */
static inline __attribute__((always_inline)) void
hl_row(const uint32_t *const rows[3], int ow, int pad, const int W, const int S,
       const uint32x4_t *sg,
       const uint32x4_t *nz, const uint32x4_t (*nl_first)[4], const uint32x4_t (*nl_mid)[4],
       const uint32x4_t (*nl_last)[4], const uint32x4_t *neg, uint32_t *dst,
       const uint32_t valid) {
    hl_pixels4(rows, 0, pad, W, S, sg, nz, nl_first, neg, dst, valid);
    int x0 = 4;
    for (; x0 + 4 < ow; x0 += 4) hl_pixels4(rows, x0, pad, W, S, sg, nz, nl_mid, neg, dst + x0 * W,
                                            valid);
    if (ow > 4)
        hl_pixels4(rows, ow - 4, pad, W, S, sg, nz, nl_last, neg, dst + (ow - 4) * W, valid);
}

/* What a call's rows need. */
typedef struct {
    const uint32_t *in;
    int in_y0, h, w, pad, ow, y0, y1;
    const uint32_t *sliced, *negative;
    int c;
    uint32_t *out;
} hl_call_t;

/* The rows of a call at W (1 or 2) channel words a pixel. */
static inline __attribute__((always_inline)) void hl_rows(const hl_call_t *d, const int W,
                                                          const int S) {
    const int w = d->w, pad = d->pad, ow = d->ow;
    const uint32_t *sliced = d->sliced;
    const uint32_t *keys = sliced + 2 * HL_TAPS * W + 1, *limits = keys + HL_CLASSES;
    const int m = (int)sliced[2 * HL_TAPS * W];
    uint32_t lanes[3];
    for (int g = 0; g < W; ++g)
        lanes[g] = d->c - 32 * g >= 32 ? ~0u : (1u << (d->c - 32 * g)) - 1u;
    /* a padding pixel, w pixels, a padding pixel, one more that stride 2's loads read past it
     * (a lane they discard) */
    uint32_t ring[3][(w + 3) * W];
    for (int r = 0; r < 3; ++r)
        for (int g = 0; g < W; ++g)
            ring[r][g] = ring[r][(w + 1) * W + g] = ring[r][(w + 2) * W + g] = 0;
    int held[3] = {-1, -1, -1};
    uint32x4_t sg[HL_TAPS * 3], nz[HL_TAPS * 3], neg[3];
    for (int i = 0; i < HL_TAPS * W; ++i) {
        sg[i] = vdupq_n_u32(sliced[2 * i]);
        nz[i] = vdupq_n_u32(sliced[2 * i + 1]);
    }
    for (int g = 0; g < W; ++g) neg[g] = vdupq_n_u32(d->negative[g] & lanes[g]);
    const uint32_t cfirst = hl_axis(w, 0, S, pad), clast = hl_axis(w, ow - 1, S, pad);
    uint32x4_t nl_mid[3][4], nl_first[3][4], nl_last[3][4];
    uint32_t rmask_prev = 8;
    for (int oy = d->y0; oy < d->y1; ++oy) {
        const uint32_t rmask = hl_axis(d->h, oy, S, pad);
        if (rmask != rmask_prev) {
            const int jm = hl_class(keys, m, rmask, 7u), jf = hl_class(keys, m, rmask, cfirst);
            const int jl = hl_class(keys, m, rmask, clast);
            for (int g = 0; g < W; ++g) {
                hl_limits(limits + g * 4, jm * W, lanes[g], -1, nl_mid[g]);
                for (int b = 0; b < 4; ++b) nl_first[g][b] = nl_last[g][b] = nl_mid[g][b];
                hl_limits(limits + g * 4, jf * W, lanes[g], 0, nl_first[g]);
                hl_limits(limits + g * 4, jl * W, lanes[g], 3, nl_last[g]);
                if (ow == 4) hl_limits(limits + g * 4, jl * W, lanes[g], 3, nl_first[g]);
            }
            rmask_prev = rmask;
        }
        const uint32_t *rows[3];
        for (int ky = 0; ky < 3; ++ky) {
            rows[ky] = 0;
            if (!((rmask >> ky) & 1u)) continue;
            const int y = oy * S + ky - pad, slot = y % 3;
            uint32_t *r = ring[slot] + W; /* pixel 0 */
            if (held[slot] != y) {
                const uint32_t *src = d->in + (y - d->in_y0) * w * W;
                int i = 0;
                for (; i + 4 <= w * W; i += 4) vst1q_u32(r + i, vld1q_u32(src + i));
                for (; i < w * W; ++i) r[i] = src[i];
                held[slot] = y;
            }
            if (pad)
                for (int g = 0; g < W; ++g) {
                    r[g - W] = sliced[2 * ((ky * 3) * W + g)];
                    r[w * W + g] = sliced[2 * ((ky * 3 + 2) * W + g)];
                }
            rows[ky] = r;
        }
        uint32_t *dst = d->out + (oy - d->y0) * ow * W;
        hl_row(rows, ow, pad, W, S, sg, nz, nl_first, nl_mid, nl_last, neg, dst, rmask);
    }
}

static void hl_rows1(const hl_call_t *d) { hl_rows(d, 1, 1); }
static void hl_rows2(const hl_call_t *d) { hl_rows(d, 2, 1); }
static void hl_rows3(const hl_call_t *d) { hl_rows(d, 3, 1); }
static void hl_rows1_s2(const hl_call_t *d) { hl_rows(d, 1, 2); }
static void hl_rows2_s2(const hl_call_t *d) { hl_rows(d, 2, 2); }

/* Output rows y0..y1 - 1 (see the header comment); 0 where the call is not of this kind. */
static int dw3x3_helium_rows(const uint32_t *in, int h, int w, int c, int stride, int pad,
                             const trit_threshold_t *thr, uint32_t *out, const uint32_t *sliced,
                             int in_y0, int y0, int y1) {
    const int ow = (w + 2 * pad - 3) / stride + 1;
    const int words = TRIT_WORDS(c);
    /* the ring (three rows of w + 3 pixels) on the stack: at most 1,536 words; four words (the
     * widest layers, 97 to 128 channels) would add 12 kB of code for layers no zoo model has */
    if (words > 3 || stride < 1 || stride > 2 || (stride == 2 && words > 2) || pad > 1 ||
        ow < 4 || 3 * (w + 3) * words > 1536)
        return 0;
    const hl_call_t d = {in, in_y0, h, w, pad, ow, y0, y1, sliced, thr->negative, c, out};
    switch (10 * words + stride) {
    case 11: hl_rows1(&d); break;
    case 21: hl_rows2(&d); break;
    case 31: hl_rows3(&d); break;
    case 12: hl_rows1_s2(&d); break;
    default: hl_rows2_s2(&d); break;
    }
    return 1;
}
#endif /* __ARM_FEATURE_MVE */

#endif /* TRIT_ARMV7EM_DW_SLICED_HELIUM_H */
