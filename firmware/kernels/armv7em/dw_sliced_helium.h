/* Private helper of the ARMv7E-M depthwise kernel on Helium (Cortex-M55): 3x3, equal scales,
 * one channel word (up to 32 channels), stride 1, with the generator's sliced constants;
 * every output pixel four at a time, pixel j of a vector in 32-bit lane j.
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

/* Bit mask of taps 0..2 along an axis of n inputs inside it, for output position o (pad). */
static inline uint32_t hl_axis(int n, int o, int pad) {
    uint32_t m = 0;
    for (int k = 0; k < 3; ++k) m |= (uint32_t)(o + k - pad >= 0 && o + k - pad < n) << k;
    return m;
}

/* The class slot of tap mask (row mask r, column mask cm) in the generator's keys. */
static inline int hl_class(const uint32_t *keys, int m, uint32_t r, uint32_t cm) {
    const uint32_t v = ((r & 1u) ? cm : 0u) | ((r & 2u) ? cm << 3 : 0u) | ((r & 4u) ? cm << 6 : 0u);
    for (int j = 0; j < m; ++j)
        if (keys[j] == v) return j;
    return 0; /* not reached: the generator lists every class of the map */
}

/* ~limit planes of class j (masked to the valid lanes) into every lane, or lane 0 / lane 3. */
static inline void hl_limits(const uint32_t *limits, int j, uint32_t lanes, int lane,
                             uint32x4_t nl[4]) {
    for (int b = 0; b < 4; ++b) {
        const uint32_t v = ~limits[j * 4 + b] & lanes;
        nl[b] = lane < 0 ? vdupq_n_u32(v) : lane == 0 ? vsetq_lane_u32(v, nl[b], 0)
                                                      : vsetq_lane_u32(v, nl[b], 3);
    }
}

/* Four output pixels from x0 on: rows[ky] the ring row of tap row ky (at pixel 0), used where
 * bit ky of `valid` is set (a constant for the inner rows after inlining). */
static inline __attribute__((always_inline)) uint32x4_t
hl_quad(const uint32_t *const rows[3], int x0, int pad, const uint32x4_t *sg,
        const uint32x4_t *nz, const uint32x4_t *nl, uint32x4_t neg, const uint32_t valid) {
    uint32x4_t s[3], k[3];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky) {
        if (!((valid >> ky) & 1u)) {
            s[ky] = k[ky] = vdupq_n_u32(0);
            continue;
        }
        const uint32_t *p = rows[ky] + x0 - pad;
        const int t = ky * 3;
        hl_fa(vandq_u32(veorq_u32(vld1q_u32(p), sg[t]), nz[t]),
              vandq_u32(veorq_u32(vld1q_u32(p + 1), sg[t + 1]), nz[t + 1]),
              vandq_u32(veorq_u32(vld1q_u32(p + 2), sg[t + 2]), nz[t + 2]), &s[ky], &k[ky]);
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

/* One output row's vectors (the last overlapping its predecessor). */
static inline __attribute__((always_inline)) void
hl_row(const uint32_t *const rows[3], int ow, int pad, const uint32x4_t *sg, const uint32x4_t *nz,
       const uint32x4_t *nl_first, const uint32x4_t *nl_mid, const uint32x4_t *nl_last,
       uint32x4_t neg, uint32_t *dst, const uint32_t valid) {
    vst1q_u32(dst, hl_quad(rows, 0, pad, sg, nz, nl_first, neg, valid));
    int x0 = 4;
    for (; x0 + 4 < ow; x0 += 4)
        vst1q_u32(dst + x0, hl_quad(rows, x0, pad, sg, nz, nl_mid, neg, valid));
    if (ow > 4)
        vst1q_u32(dst + ow - 4, hl_quad(rows, ow - 4, pad, sg, nz, nl_last, neg, valid));
}

/* Output rows y0..y1 - 1 (see the header comment); 0 where the call is not of this kind. */
static int dw3x3_helium_rows(const uint32_t *in, int h, int w, int c, int stride, int pad,
                             const trit_threshold_t *thr, uint32_t *out, const uint32_t *sliced,
                             int in_y0, int y0, int y1) {
    const int ow = w + 2 * pad - 2;
    if (c > 32 || stride != 1 || pad > 1 || ow < 4) return 0;
    const uint32_t lanes = c == 32 ? ~0u : (1u << c) - 1u;
    const uint32_t *keys = sliced + 2 * HL_TAPS + 1, *limits = keys + HL_CLASSES;
    const int m = (int)sliced[2 * HL_TAPS];
    uint32_t ring[3][w + 2]; /* padding word, w words, padding word */
    for (int r = 0; r < 3; ++r) ring[r][0] = ring[r][w + 1] = 0;
    int held[3] = {-1, -1, -1};
    uint32x4_t sg[HL_TAPS], nz[HL_TAPS];
    for (int t = 0; t < HL_TAPS; ++t) {
        sg[t] = vdupq_n_u32(sliced[2 * t]);
        nz[t] = vdupq_n_u32(sliced[2 * t + 1]);
    }
    const uint32x4_t neg = vdupq_n_u32(thr->negative[0] & lanes);
    const uint32_t cfirst = hl_axis(w, 0, pad), clast = hl_axis(w, ow - 1, pad);
    uint32x4_t nl_mid[4], nl_first[4], nl_last[4];
    uint32_t rmask_prev = 8;
    for (int oy = y0; oy < y1; ++oy) {
        const uint32_t rmask = hl_axis(h, oy, pad);
        if (rmask != rmask_prev) {
            hl_limits(limits, hl_class(keys, m, rmask, 7u), lanes, -1, nl_mid);
            for (int b = 0; b < 4; ++b) nl_first[b] = nl_last[b] = nl_mid[b];
            hl_limits(limits, hl_class(keys, m, rmask, cfirst), lanes, 0, nl_first);
            hl_limits(limits, hl_class(keys, m, rmask, clast), lanes, 3, nl_last);
            if (ow == 4) hl_limits(limits, hl_class(keys, m, rmask, clast), lanes, 3, nl_first);
            rmask_prev = rmask;
        }
        const uint32_t *rows[3];
        for (int ky = 0; ky < 3; ++ky) {
            rows[ky] = 0;
            if (!((rmask >> ky) & 1u)) continue;
            const int y = oy + ky - pad, slot = y % 3;
            uint32_t *r = ring[slot] + 1; /* pixel 0 */
            if (held[slot] != y) {
                const uint32_t *src = in + (y - in_y0) * w;
                int i = 0;
                for (; i + 4 <= w; i += 4) vst1q_u32(r + i, vld1q_u32(src + i));
                for (; i < w; ++i) r[i] = src[i];
                held[slot] = y;
            }
            if (pad) {
                r[-1] = sliced[2 * (ky * 3)];
                r[w] = sliced[2 * (ky * 3 + 2)];
            }
            rows[ky] = r;
        }
        uint32_t *dst = out + (oy - y0) * ow;
        if (rmask == 7u)
            hl_row(rows, ow, pad, sg, nz, nl_first, nl_mid, nl_last, neg, dst, 7u);
        else
            hl_row(rows, ow, pad, sg, nz, nl_first, nl_mid, nl_last, neg, dst, rmask);
    }
    return 1;
}
#endif /* __ARM_FEATURE_MVE */

#endif /* TRIT_ARMV7EM_DW_SLICED_HELIUM_H */
