/* NEON flavour: depthwise k x k ternary x int8 convolution with requantised int8 outputs, for
 * int8-activation models (IR v2, kernels.h); taps outside the image add 0.
 *
 * Sixteen channels per vector (a layer of 8 to 15 channels: eight): the codes transposed once
 * per call to [tap][channel], per tap inside the image one load of the inputs and one VMLAL.S8
 * per half into int16 lanes (|code * x| <= 128 over at most 255 taps), the same with |codes|
 * for unequal scales; then acc = wp d (or wp P - wn N) in int32 lanes, requantised four
 * channels at a time and narrowed. Channel group by channel group over the whole map, so that
 * a group's codes and requantisation parameters are loaded once. The channels past the last
 * multiple of the group run as one more group that ends at the last channel (recomputing a
 * few, which write the same bytes).
 * Layers of fewer than 8 channels or more than 255 taps take the portable loop. */
#include "neon_util.h"

/* acc = wp d or wp P - wn N of four channels from d and t = P + N (int32 lanes). */
static inline int32x4_t ternary_acc4(int32x4_t d, int32x4_t t, trit_scales_t s, int equal) {
    if (equal) return vmulq_n_s32(d, s.wp);
    return vmlsq_n_s32(vmulq_n_s32(vshrq_n_s32(vaddq_s32(t, d), 1), s.wp),
                       vshrq_n_s32(vsubq_s32(t, d), 1), s.wn);
}

/* One channel group's requantisation parameters, four channels a vector (loaded once per
 * group, not per pixel). */
typedef struct {
    int32x4_t bias[4], mult[4], shift[4];
} params16_t;

static inline params16_t group_params(const trit_requant_t *rq, int ch, int g) {
    params16_t p;
    for (int q = 0; q < g / 4; ++q) {
        p.bias[q] = vld1q_s32(rq->bias + ch + 4 * q);
        p.mult[q] = vld1q_s32(rq->mult + ch + 4 * q);
        p.shift[q] = vld1q_s32(rq->shift + ch + 4 * q);
    }
    return p;
}

/* Requantised int8 of eight channels (half h of the group: parameter vectors 2 h, 2 h + 1)
 * from int16 sums d and t. */
static inline int8x8_t requant8(int16x8_t d, int16x8_t t, const params16_t *p, int h,
                                trit_scales_t s, int equal, int32_t act_min) {
    const int32x4_t lo = ternary_acc4(vmovl_s16(vget_low_s16(d)), vmovl_s16(vget_low_s16(t)), s,
                                      equal);
    const int32x4_t hi = ternary_acc4(vmovl_s16(vget_high_s16(d)), vmovl_s16(vget_high_s16(t)),
                                      s, equal);
    const int32x4_t ylo =
        requant4_neon(lo, p->bias[2 * h], p->mult[2 * h], p->shift[2 * h], act_min);
    const int32x4_t yhi =
        requant4_neon(hi, p->bias[2 * h + 1], p->mult[2 * h + 1], p->shift[2 * h + 1], act_min);
    return vmovn_s16(vcombine_s16(vmovn_s32(ylo), vmovn_s32(yhi)));
}

static void dw_scalar(const int8_t *in, int h, int w, int c, const int8_t *codes,
                      trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                      int8_t *out) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int o = 0; o < oh * ow; ++o)
        for (int ch = 0; ch < c; ++ch) {
            int32_t d = 0, t = 0;
            for (int tap = 0; tap < k * k; ++tap) {
                const int y = (o / ow) * stride + tap / k - pad;
                const int x = (o % ow) * stride + tap % k - pad;
                if (y < 0 || y >= h || x < 0 || x >= w || !codes[ch * k * k + tap]) continue;
                const int32_t v = in[(y * w + x) * c + ch];
                d += codes[ch * k * k + tap] * v;
                t += v;
            }
            out[o * c + ch] = trit_requant(trit_ternary_acc(d, t, s), ch, rq);
        }
}

/* One group of g (16 or 8) channels at ch of one output pixel over taps ky0..ky1 x kx0..kx1 of
 * the window whose top-left input is (y0, x0): the codes and |codes| of tap t from cv[t], av[t]
 * (the group's, loaded once; g = 8 uses their low halves). Constants after inlining (the whole
 * 3 x 3 window unrolls). */
static inline __attribute__((always_inline)) void
group(const int8_t *in, int w, int c, int k, const int8x16_t *cv, const int8x16_t *av, int y0,
      int x0, int ky0, int ky1, int kx0, int kx1, int ch, const int g, trit_scales_t s,
      const int equal, const params16_t *prm, int32_t act_min, int8_t *y) {
    int16x8_t d0 = vdupq_n_s16(0), d1 = d0, t0 = d0, t1 = d0;
#pragma GCC unroll 3
    for (int ky = ky0; ky < ky1; ++ky)
#pragma GCC unroll 3
        for (int kx = kx0; kx < kx1; ++kx) {
            const int8_t *src = in + ((y0 + ky) * w + x0 + kx) * c + ch;
            const int tap = ky * k + kx;
            if (g == 16) {
                const int8x16_t x = vld1q_s8(src);
                d0 = vmlal_s8(d0, vget_low_s8(x), vget_low_s8(cv[tap]));
                d1 = mlal_high_s8(d1, x, cv[tap]);
                if (!equal) {
                    t0 = vmlal_s8(t0, vget_low_s8(x), vget_low_s8(av[tap]));
                    t1 = mlal_high_s8(t1, x, av[tap]);
                }
            } else {
                const int8x8_t x = vld1_s8(src);
                d0 = vmlal_s8(d0, x, vget_low_s8(cv[tap]));
                if (!equal) t0 = vmlal_s8(t0, x, vget_low_s8(av[tap]));
            }
        }
    vst1_s8(y + ch, requant8(d0, t0, prm, 0, s, equal, act_min));
    if (g == 16) vst1_s8(y + ch + 8, requant8(d1, t1, prm, 1, s, equal, act_min));
}

/* Every output pixel, group by group of g channels (the last one overlapping where
 * c % g != 0), each group's codes and parameters loaded once. */
static inline __attribute__((always_inline)) void
pixels(const int8_t *in, int h, int w, int c, const int8_t *ct, int k,
       int stride, int pad, const int g, trit_scales_t s, const int equal,
       const trit_requant_t *rq, int8_t *out) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int kk = k * k;
    for (int ch = 0;; ch += g) {
        if (ch > c - g) ch = c - g;
        const params16_t prm = group_params(rq, ch, g);
        int8x16_t cv[kk], av[kk]; /* the group's codes and |codes| per tap (g = 8: low halves) */
        for (int t = 0; t < kk; ++t) {
            cv[t] = g == 16 ? vld1q_s8(ct + t * c + ch)
                            : vcombine_s8(vld1_s8(ct + t * c + ch), vdup_n_s8(0));
            av[t] = vabsq_s8(cv[t]);
        }
        for (int oy = 0; oy < oh; ++oy) {
            const int y0 = oy * stride - pad;
            const int ky0 = y0 < 0 ? -y0 : 0, ky1 = y0 + k > h ? h - y0 : k;
            for (int ox = 0; ox < ow; ++ox) {
                const int x0 = ox * stride - pad;
                const int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + k > w ? w - x0 : k;
                int8_t *const y = out + (oy * ow + ox) * c;
                if (k == 3 && ky1 - ky0 == 3 && kx1 - kx0 == 3) /* no border tap */
                    group(in, w, c, 3, cv, av, y0, x0, 0, 3, 0, 3, ch, g, s, equal, &prm,
                          rq->act_min, y);
                else
                    group(in, w, c, k, cv, av, y0, x0, ky0, ky1, kx0, kx1, ch, g, s, equal, &prm,
                          rq->act_min, y);
            }
        }
        if (ch == c - g) break;
    }
}

void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    (void)scratch; /* the transposed codes live on the stack (Linux) */
    const int kk = k * k;
    if (c < 8 || kk > 255) {
        dw_scalar(in, h, w, c, codes, s, k, stride, pad, rq, out);
        return;
    }
    const int g = c >= 16 ? 16 : 8, equal = s.wp == s.wn;
    int8_t ct[kk][c]; /* codes, [tap][channel] */
    for (int t = 0; t < kk; ++t)
        for (int ch = 0; ch < c; ++ch) ct[t][ch] = codes[ch * kk + t];
    if (g == 16 && equal)
        pixels(in, h, w, c, ct[0], k, stride, pad, 16, s, 1, rq, out);
    else if (g == 16)
        pixels(in, h, w, c, ct[0], k, stride, pad, 16, s, 0, rq, out);
    else if (equal)
        pixels(in, h, w, c, ct[0], k, stride, pad, 8, s, 1, rq, out);
    else
        pixels(in, h, w, c, ct[0], k, stride, pad, 8, s, 0, rq, out);
}
