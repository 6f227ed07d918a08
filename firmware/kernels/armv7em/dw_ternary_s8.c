/* ARMv7E-M flavour: depthwise ternary x int8 convolution with requantised int8 outputs
 * (int8-activation models, IR v2; kernels.h).
 * - 3 x 3, wp == wn, act_min 0 or -128 and at least 4 channels (the models' case): bytewise
 *   sums, four channels per input word. Each tap's codes become two words per group
 *   of 4 channels, a key (byte 0x80 under a +1 code, 0x7f under -1, 0 under 0) and a mask
 *   (0xff under a non-zero code): u = (a ^ key) & mask holds a + 128 where the code is +1,
 *   127 - a where it is -1, 0 where it is 0, and UXTAB16 adds bytes 0, 2 (and, rotated,
 *   1, 3) of u into two halfword sums (nine taps: at most 9 * 255, no overflow). Each sum
 *   exceeds the dot product by K = sum over the taps of key & mask (128 per +1 code, 127
 *   per -1 code), folded into a per-channel bias; taps outside the image read a zero buffer,
 *   whose bytes add exactly their share of K. Interior pixels go two at a time in inline
 *   assembly (twelve instructions per tap for 8 products, each channel's requantisation
 *   parameters loaded once for both), border pixels one at a time through nine tap
 *   pointers; the requantisation ends in one saturation (requant3, int8_dot.h). Where c is
 *   not a multiple of 4, a last group reads the word of channels c - 4 .. c - 1, its codes
 *   masked off in the lanes the group before it holds, and stores only its own lanes: nothing
 *   past a pixel's c bytes is read.
 * - other wp == wn layers: the int8 depthwise kernel on the codes, each sum times wp.
 * - unequal scales: P and N summed apart. */
#include "int8_dot.h"
#include "trit/kernels.h"

/* Requantise a group's halfword sums {p02 (channels 0, 2), p13 (channels 1, 3)} into
 * y[first..3]; q: the group's parameters (inner biases, K folded in); first: 0, or the lanes
 * a last partial group leaves to the group before it. */
static inline __attribute__((always_inline)) void store4(int8_t *y, uint32_t p02, uint32_t p13,
                                                         int32_t wp, const requant3_t *q,
                                                         int relu, int first) {
#pragma GCC unroll 4
    for (int j = first; j < 4; ++j) {
        const int32_t v = (int32_t)(((j & 1 ? p13 : p02) >> (16 * (j >> 1))) & 0xffffu);
        y[j] = (int8_t)requant3(wp * v, q + j, relu);
    }
}

/* The tap sums of one pixel for the group of 4 channels at byte ch: tap[t] as in one_pixel. */
static inline __attribute__((always_inline)) void
group_sums(const int8_t *const tap[9], int ch, const uint32_t *wg, uint32_t *p02, uint32_t *p13) {
    uint32_t s02 = 0, s13 = 0;
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) {
        const uint32_t u = (trit_load_u32(tap[t] + ch) ^ wg[2 * t]) & wg[2 * t + 1];
        s02 = __uxtab16(s02, u);
        s13 = trit_uxtab16_ror8(s13, u);
    }
    *p02 = s02;
    *p13 = s13;
}

/* One output pixel (a border pixel, or a last interior one without a partner): tap[t] is the
 * input pixel under tap t, or a zero buffer of c bytes where the tap lies outside the image.
 * An input of 0 adds key & mask, that tap's share of K, so the inner biases hold here too. */
static inline __attribute__((always_inline)) void
one_pixel(const int8_t *const tap[9], int c, const uint32_t *wt, int32_t wp, const requant3_t *q,
          int relu, int8_t *y) {
    const int c4 = c & ~3;
    uint32_t p02, p13;
    for (int ch = 0; ch < c4; ch += 4) {
        group_sums(tap, ch, wt + 18 * (ch / 4), &p02, &p13);
        store4(y + ch, p02, p13, wp, q + ch, relu, 0);
    }
    if (c4 < c) {
        group_sums(tap, c - 4, wt + 18 * (c / 4), &p02, &p13);
        store4(y + c - 4, p02, p13, wp, q + c - 4, relu, 4 - (c - c4));
    }
}

/* One tap of pair_sums: the tap's key and mask by LDRD (post-increment), the second pixel's
 * input word at a + d, the first's at a, then a moves one pixel (c bytes) right. */
#define TAP                                                                                    \
    "ldrd %[key], %[mask], [%[wg]], #8\n\t"                                                     \
    "ldr %[u], [%[a], %[d]]\n\t"                                                              \
    "ldr %[v], [%[a]]\n\t"                                                                    \
    "add %[a], %[a], %[c]\n\t"                                                                \
    "eor %[u], %[u], %[key]\n\t"                                                              \
    "and %[u], %[u], %[mask]\n\t"                                                             \
    "uxtab16 %[q02], %[q02], %[u]\n\t"                                                        \
    "uxtab16 %[q13], %[q13], %[u], ror #8\n\t"                                                \
    "eor %[v], %[v], %[key]\n\t"                                                              \
    "and %[v], %[v], %[mask]\n\t"                                                             \
    "uxtab16 %[p02], %[p02], %[v]\n\t"                                                        \
    "uxtab16 %[p13], %[p13], %[v], ror #8\n\t"

/* The interior sums of two output pixels for one group of 4 channels: the first pixel's
 * window starts at a, the second's d bytes further (stride * c); wg: the group's {key, mask}
 * pairs, tap by tap (word aligned). Sums in halfwords: sa = {p02, p13} of the first pixel,
 * sb of the second. */
static inline __attribute__((always_inline)) void pair_sums(const int8_t *a, int row_bytes,
                                                            int c, int d, const uint32_t *wg,
                                                            uint32_t sa[2], uint32_t sb[2]) {
    uint32_t p02 = 0, p13 = 0, q02 = 0, q13 = 0, key, mask, u, v;
    const int next_row = row_bytes - 3 * c;
    __asm__(TAP TAP TAP "add %[a], %[a], %[nr]\n\t"
            TAP TAP TAP "add %[a], %[a], %[nr]\n\t"
            TAP TAP TAP
            : [p02] "+r"(p02), [p13] "+r"(p13), [q02] "+r"(q02), [q13] "+r"(q13),
              [a] "+r"(a), [wg] "+r"(wg), [key] "=&r"(key), [mask] "=&r"(mask),
              [u] "=&r"(u), [v] "=&r"(v)
            : [c] "r"(c), [d] "r"(d), [nr] "r"(next_row)
            : "memory");
    sa[0] = p02;
    sa[1] = p13;
    sb[0] = q02;
    sb[1] = q13;
}
#undef TAP

/* Requantise the interior halfword sums of two pixels, {a02, a13} and {b02, b13}, into
 * ya[first..3] and yb[first..3] (first as in store4): each channel's parameters (q) loaded
 * once for both. */
static inline __attribute__((always_inline)) void
store4x2(int8_t *ya, int8_t *yb, const uint32_t sa[2], const uint32_t sb[2], int32_t wp,
         const requant3_t *q, int relu, int first) {
#pragma GCC unroll 4
    for (int j = first; j < 4; ++j) {
        const requant3_t p = q[j];
        const int32_t va = (int32_t)((sa[j & 1] >> (16 * (j >> 1))) & 0xffffu);
        const int32_t vb = (int32_t)((sb[j & 1] >> (16 * (j >> 1))) & 0xffffu);
        ya[j] = (int8_t)requant3(wp * va, &p, relu);
        yb[j] = (int8_t)requant3(wp * vb, &p, relu);
    }
}

/* wt: 18 words per group of 4 channels ({key, mask} per tap; the last group, where c is not
 * a multiple of 4, over channels c - 4 .. c - 1); q: per channel, the requantisation
 * parameters with the bias minus wp * K over all nine taps; zeros: c zero bytes. */
static inline __attribute__((always_inline)) void
dw3_rows(const int8_t *in, int h, int w, int c, const uint32_t *wt, const requant3_t *q,
         const int8_t *zeros, int32_t wp, int stride, int pad, int8_t *out, int relu) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    const int row_bytes = w * c, d = stride * c, c4 = c & ~3;
    uint32_t sa[2], sb[2];
    const int8_t *tap[9];
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad;
        const int full_rows = y0 >= 0 && y0 + 3 <= h;
        for (int ox = 0; ox < ow;) {
            const int x0 = ox * stride - pad;
            const int8_t *a = in + (y0 * w + x0) * c;
            int8_t *y = out + (oy * ow + ox) * c;
            if (full_rows && x0 >= 0 && x0 + stride + 3 <= w && ox + 1 < ow) {
                for (int ch = 0; ch < c4; ch += 4) {
                    pair_sums(a + ch, row_bytes, c, d, wt + 18 * (ch / 4), sa, sb);
                    store4x2(y + ch, y + c + ch, sa, sb, wp, q + ch, relu, 0);
                }
                if (c4 < c) {
                    pair_sums(a + c - 4, row_bytes, c, d, wt + 18 * (c / 4), sa, sb);
                    store4x2(y + c - 4, y + 2 * c - 4, sa, sb, wp, q + c - 4, relu,
                             4 - (c - c4));
                }
                ox += 2;
                continue;
            }
            for (int t = 0; t < 9; ++t) {
                const int yy = y0 + t / 3, xx = x0 + t % 3;
                tap[t] = (unsigned)yy < (unsigned)h && (unsigned)xx < (unsigned)w
                             ? in + (yy * w + xx) * c
                             : zeros;
            }
            one_pixel(tap, c, wt, wp, q, relu, y);
            ++ox;
        }
    }
}

void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    const int groups = (c + 3) / 4;
    if (s.wp == s.wn && k == 3 && c >= 4 &&
        18 * groups + 3 * c + groups <= TRIT_SCRATCH_INTS(c) &&
        (rq->act_min == 0 || rq->act_min == -128)) {
        /* scratch: the taps' {key, mask} words, the channels' parameters, c zero bytes */
        uint32_t *const wt = (uint32_t *)scratch;
        requant3_t *const q = (requant3_t *)(scratch + 18 * groups);
        int8_t *const zeros = (int8_t *)(scratch + 18 * groups + 3 * c);
        for (int ch = 0; ch < c; ++ch) {
            q[ch] = requant3_of(rq, ch);
            zeros[ch] = 0;
        }
        for (int g = 0; g < groups; ++g) {
            /* the group's first channel; a last partial group starts at c - 4 and leaves the
             * channels below 4 g to the group before it */
            const int base = 4 * g + 4 <= c ? 4 * g : c - 4;
            for (int t = 0; t < 9; ++t) {
                uint32_t key = 0, mask = 0;
                for (int j = 0; j < 4; ++j) {
                    const int code = codes[(base + j) * 9 + t];
                    if (!code || base + j < 4 * g) continue;
                    const uint32_t kb = code > 0 ? 0x80u : 0x7fu;
                    key |= kb << (8 * j);
                    mask |= 0xffu << (8 * j);
                    q[base + j].bias -= s.wp * (int32_t)kb;
                }
                wt[18 * g + 2 * t] = key;
                wt[18 * g + 2 * t + 1] = mask;
            }
        }
        if (rq->act_min == 0)
            dw3_rows(in, h, w, c, wt, q, zeros, s.wp, stride, pad, out, 1);
        else
            dw3_rows(in, h, w, c, wt, q, zeros, s.wp, stride, pad, out, 0);
        return;
    }
    if (s.wp == s.wn) {
        trit_armv7em_dw_s8_scaled(in, h, w, c, codes, s.wp, k, stride, pad, rq, out, scratch);
        return;
    }
    /* unequal scales: per output pixel, P and N of every channel in the scratch, taps outer */
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    int32_t *const pos = scratch, *const neg = scratch + c; /* 2 c <= TRIT_SCRATCH_INTS(c) */
    for (int p = 0; p < oh * ow; ++p) {
        const int oy = p / ow, ox = p % ow;
        for (int ch = 0; ch < c; ++ch) pos[ch] = neg[ch] = 0;
        for (int t = 0; t < k * k; ++t) {
            const int y = oy * stride + t / k - pad, x = ox * stride + t % k - pad;
            if ((unsigned)y >= (unsigned)h || (unsigned)x >= (unsigned)w) continue;
            const int8_t *src = in + (y * w + x) * c;
            for (int ch = 0; ch < c; ++ch) {
                const int8_t code = codes[ch * k * k + t];
                if (code > 0) pos[ch] += src[ch];
                else if (code < 0) neg[ch] += src[ch];
            }
        }
        for (int ch = 0; ch < c; ++ch)
            out[p * c + ch] = trit_requant(s.wp * pos[ch] - s.wn * neg[ch], ch, rq);
    }
}
