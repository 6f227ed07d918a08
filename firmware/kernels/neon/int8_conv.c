/* NEON flavour: the int8 comparison network's convolutions (kernels.h), the way an ordinary
 * int8 deployment runs them on a Cortex-A without the dot-product extension (AArch64 and
 * 32-bit ARMv7-A alike).
 * Convolution: two output pixels by two output channels per pass over their patches (a 1x1
 * layer's straight from the tensor, a k x k layer's gathered once per pixel pair with zeros
 * outside the image); per 16 inputs and pixel-channel pair two VMULL.S8 (int16 products, which
 * cannot overflow) and two VPADAL.S16 into int32 lanes, a group of 8 the same with one each,
 * the last n % 8 in C; the four sums reduced with pairwise adds into one vector and
 * requantised together; the 3 x 3 RGB layer at stride 1 with eight output pixels in the lanes
 * instead (rgb_lanes.h, as the binary models' input layer). Depthwise: eight channels per
 * vector, per tap inside the image one VMULL.S8 on the weights transposed to [tap][channel]
 * once per call and two VADDW.S16; the channels past the last multiple of 8 in C.
 * Requantisation on vectors: VMULL.S32 and a narrowing shift give ((acc + bias) * mult) >> 32,
 * VRSHL the rounding shift by shift - 32, then the clamp. */
#include <arm_neon.h>
#include <string.h>

#include "neon_util.h"
#include "rgb_lanes.h"
#include "trit/kernels.h"

/* acc + the products of the 16 int8 lanes of a and b, pairwise summed into int32 lanes. */
static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_s8(vget_high_s8(a), vget_high_s8(b)));
}

/* The sums {a.w0, a.w1, b.w0, b.w1} of patches a, b (n bytes) with weight rows w0, w1. */
static inline int32x4_t dot2x2(const int8_t *a, const int8_t *b, const int8_t *w0,
                               const int8_t *w1, int n) {
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, b0 = a0, b1 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const int8x16_t va = vld1q_s8(a + i), vb = vld1q_s8(b + i);
        const int8x16_t v0 = vld1q_s8(w0 + i), v1 = vld1q_s8(w1 + i);
        a0 = dot16(a0, va, v0);
        a1 = dot16(a1, va, v1);
        b0 = dot16(b0, vb, v0);
        b1 = dot16(b1, vb, v1);
    }
    if (i + 8 <= n) {
        const int8x8_t va = vld1_s8(a + i), vb = vld1_s8(b + i);
        const int8x8_t v0 = vld1_s8(w0 + i), v1 = vld1_s8(w1 + i);
        a0 = vpadalq_s16(a0, vmull_s8(va, v0));
        a1 = vpadalq_s16(a1, vmull_s8(va, v1));
        b0 = vpadalq_s16(b0, vmull_s8(vb, v0));
        b1 = vpadalq_s16(b1, vmull_s8(vb, v1));
        i += 8;
    }
    int32x4_t s = pairwise_s32(pairwise_s32(a0, a1), pairwise_s32(b0, b1));
    if (i < n) {
        int32_t t[4] = {0, 0, 0, 0};
        for (; i < n; ++i) {
            t[0] += a[i] * w0[i];
            t[1] += a[i] * w1[i];
            t[2] += b[i] * w0[i];
            t[3] += b[i] * w1[i];
        }
        s = vaddq_s32(s, vld1q_s32(t));
    }
    return s;
}

/* The k x k x cin patch of output pixel (oy, ox) into bytes (zero outside the image). */
static void gather(const int8_t *in, int h, int w, int cin, int k, int stride, int pad, int oy,
                   int ox, int8_t *bytes) {
    for (int ky = 0; ky < k; ++ky) {
        const int y = oy * stride + ky - pad;
        for (int kx = 0; kx < k; ++kx) {
            const int x = ox * stride + kx - pad;
            int8_t *dst = bytes + (ky * k + kx) * cin;
            if (y < 0 || y >= h || x < 0 || x >= w) memset(dst, 0, (size_t)cin);
            else memcpy(dst, in + (y * w + x) * cin, (size_t)cin);
        }
    }
}

/* The 3 x 3 RGB layer at stride 1 with the output pixels in the lanes (rgb_lanes.h): per
 * output channel the eight pixels' sums requantised together and stored a byte per pixel. */
static void rgb_pixel_lanes_s8(const int8_t *img, int wp, int oh, int ow, const int16_t *w16,
                               int cout, const trit_requant_t *rq, int8_t *out) {
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0;; ox += 8) {
            if (ox > ow - 8) ox = ow - 8;
            int16x8_t x[RGB_TAPS];
            int32x4_t part[cout][2]; /* the first half's sums per channel */
            rgb_taps8(img, wp, oy, ox, 0, 5, x);
            for (int o = 0; o < cout; ++o)
                rgb_sums8_first(x, w16 + o * RGB_ROW_PITCH, &part[o][0], &part[o][1]);
            rgb_taps8(img, wp, oy, ox, 5, 9, x);
            int8_t *const y = out + (oy * ow + ox) * cout;
            for (int o = 0; o < cout; ++o) {
                int32x4_t a = part[o][0], b = part[o][1];
                rgb_sums8_rest(x, w16 + o * RGB_ROW_PITCH, &a, &b);
                const int32x4_t bias = vld1q_dup_s32(rq->bias + o);
                const int32x4_t mult = vld1q_dup_s32(rq->mult + o);
                const int32x4_t shift = vld1q_dup_s32(rq->shift + o);
                const int8x8_t v = vmovn_s16(
                    vcombine_s16(vmovn_s32(requant4_neon(a, bias, mult, shift, rq->act_min)),
                                 vmovn_s32(requant4_neon(b, bias, mult, shift, rq->act_min))));
                vst1_lane_s8(y + o, v, 0);
                vst1_lane_s8(y + cout + o, v, 1);
                vst1_lane_s8(y + 2 * cout + o, v, 2);
                vst1_lane_s8(y + 3 * cout + o, v, 3);
                vst1_lane_s8(y + 4 * cout + o, v, 4);
                vst1_lane_s8(y + 5 * cout + o, v, 5);
                vst1_lane_s8(y + 6 * cout + o, v, 6);
                vst1_lane_s8(y + 7 * cout + o, v, 7);
            }
            if (ox == ow - 8) break;
        }
}

void trit_conv_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights, int cout,
                  int k, int stride, int pad, const trit_requant_t *rq, int8_t *out,
                  int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    if (cin == 3 && k == 3 && stride == 1 && rgb_lanes_fit(h, w, pad)) {
        int8_t img[RGB_IMAGE_BYTES(h, w, pad)];
        int16_t w16[cout * RGB_ROW_PITCH];
        rgb_padded_image(in, h, w, pad, img, sizeof img);
        rgb_weights16(weights, cout, w16);
        rgb_pixel_lanes_s8(img, w + 2 * pad, oh, ow, w16, cout, rq, out);
        return;
    }
    const int n = k * k * cin, pixels = oh * ow, bytes = 4 * TRIT_SCRATCH_INTS(cout);
    const int direct = k == 1 && pad == 0; /* a 1x1 layer's patch is the input pixel */
    /* gathered patches and, where the scratch holds them, the weights padded with zeros to a
     * multiple of 16 bytes (the 3x3 RGB layer's 27 to 32: no tail products) */
    const int n16 = (n + 15) & ~15;
    const int padded = !direct && n16 != n && (2 + cout) * n16 <= bytes;
    const int stride_n = padded ? n16 : n; /* patch and weight row length */
    int8_t *const pa = (int8_t *)scratch, *const pb = pa + stride_n;
    const int fits = direct || 2 * stride_n <= bytes;
    if (padded) {
        int8_t *const wp = pb + n16;
        for (int o = 0; o < cout; ++o) {
            memcpy(wp + o * n16, weights + o * n, (size_t)n);
            memset(wp + o * n16 + n, 0, (size_t)(n16 - n));
        }
        memset(pa + n, 0, (size_t)(n16 - n));
        memset(pb + n, 0, (size_t)(n16 - n));
        weights = wp;
    }
    for (int p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels, q = two ? p + 1 : p; /* a lone pixel pairs itself */
        const int8_t *a, *b;
        if (direct) {
            a = in + ((p / ow) * stride * w + (p % ow) * stride) * cin;
            b = in + ((q / ow) * stride * w + (q % ow) * stride) * cin;
        } else if (fits) {
            gather(in, h, w, cin, k, stride, pad, p / ow, p % ow, pa);
            gather(in, h, w, cin, k, stride, pad, q / ow, q % ow, pb);
            a = pa;
            b = pb;
        } else { /* taps one by one, as the portable flavour */
            for (int r = p; r <= q; ++r)
                for (int o = 0; o < cout; ++o) {
                    int32_t acc = 0;
                    for (int t = 0; t < k * k; ++t) {
                        const int y = (r / ow) * stride + t / k - pad;
                        const int x = (r % ow) * stride + t % k - pad;
                        if (y < 0 || y >= h || x < 0 || x >= w) continue;
                        const int8_t *src = in + (y * w + x) * cin;
                        const int8_t *wt = weights + o * n + t * cin;
                        for (int i = 0; i < cin; ++i) acc += src[i] * wt[i];
                    }
                    out[r * cout + o] = trit_requant(acc, o, rq);
                }
            continue;
        }
        int8_t *const ya = out + p * cout, *const yb = ya + cout;
        int o = 0;
        for (; o + 2 <= cout; o += 2) {
            const int32x4_t s = dot2x2(a, b, weights + o * stride_n,
                                       weights + (o + 1) * stride_n, stride_n);
            /* lanes {a.o, a.o+1, b.o, b.o+1}: each channel pair's parameters twice */
            const int32x2_t bias = vld1_s32(rq->bias + o), mult = vld1_s32(rq->mult + o);
            const int32x2_t shift = vld1_s32(rq->shift + o);
            const int32x4_t y = requant4_neon(s, vcombine_s32(bias, bias),
                                              vcombine_s32(mult, mult),
                                              vcombine_s32(shift, shift), rq->act_min);
            const int8x8_t bytes = vmovn_s16(vcombine_s16(vmovn_s32(y), vmovn_s32(y)));
            vst1_lane_s16((int16_t *)(void *)(ya + o), vreinterpret_s16_s8(bytes), 0);
            if (two) vst1_lane_s16((int16_t *)(void *)(yb + o), vreinterpret_s16_s8(bytes), 1);
        }
        if (o < cout) { /* an odd last channel */
            int32_t y[4];
            vst1q_s32(y, dot2x2(a, b, weights + o * stride_n, weights + o * stride_n, stride_n));
            ya[o] = trit_requant(y[0], o, rq);
            if (two) yb[o] = trit_requant(y[2], o, rq);
        }
    }
}

/* Eight channels' products over `rows` x `cols` taps of a k x k window: a the first tap's
 * inputs, row and c the bytes to the next row and column, wr its weights in [tap][c8] order;
 * the int16 products widened into lo (channels 0..3) and hi (4..7). Inlined, so that constant
 * bounds unroll. */
static inline __attribute__((always_inline)) void
taps8(const int8_t *a, int row, int c, const int8_t *wr, int c8, int k, int rows, int cols,
      int32x4_t *lo, int32x4_t *hi) {
    int32x4_t l = *lo, h = *hi;
#pragma GCC unroll 3
    for (int ky = 0; ky < rows; ++ky)
#pragma GCC unroll 3
        for (int kx = 0; kx < cols; ++kx) {
            const int16x8_t prod = vmull_s8(vld1_s8(a + ky * row + kx * c),
                                            vld1_s8(wr + (ky * k + kx) * c8));
            l = vaddw_s16(l, vget_low_s16(prod));
            h = vaddw_s16(h, vget_high_s16(prod));
        }
    *lo = l;
    *hi = h;
}

void trit_dw_s8(const int8_t *in, int h, int w, int c, const int8_t *weights, int k,
                int stride, int pad, const trit_requant_t *rq, int8_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int kk = k * k, c8 = c & ~7;
    int8_t *const wt = (int8_t *)scratch; /* [tap][c8] */
    const int vector = c8 > 0 && kk * c8 <= 4 * TRIT_SCRATCH_INTS(c);
    if (vector)
        for (int t = 0; t < kk; ++t)
            for (int ch = 0; ch < c8; ++ch) wt[t * c8 + ch] = weights[ch * kk + t];
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad;
        const int ky0 = y0 < 0 ? -y0 : 0, ky1 = y0 + k > h ? h - y0 : k;
        for (int ox = 0; ox < ow; ++ox) {
            const int x0 = ox * stride - pad;
            const int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + k > w ? w - x0 : k;
            int8_t *const y = out + (oy * ow + ox) * c;
            int ch = 0;
            const int whole = k == 3 && ky1 - ky0 == 3 && kx1 - kx0 == 3; /* no border tap */
            for (; vector && ch < c8; ch += 8) {
                int32x4_t lo = vdupq_n_s32(0), hi = lo;
                /* from the first tap inside the image (no pointer outside it) */
                const int8_t *const a = in + ((y0 + ky0) * w + x0 + kx0) * c + ch;
                const int8_t *const wr = wt + (ky0 * k + kx0) * c8 + ch;
                if (whole) /* the nine taps unrolled */
                    taps8(a, w * c, c, wr, c8, 3, 3, 3, &lo, &hi);
                else
                    taps8(a, w * c, c, wr, c8, k, ky1 - ky0, kx1 - kx0, &lo, &hi);
                const int32x4_t ylo = requant4_neon(lo, vld1q_s32(rq->bias + ch),
                                                    vld1q_s32(rq->mult + ch),
                                                    vld1q_s32(rq->shift + ch), rq->act_min);
                const int32x4_t yhi = requant4_neon(hi, vld1q_s32(rq->bias + ch + 4),
                                                    vld1q_s32(rq->mult + ch + 4),
                                                    vld1q_s32(rq->shift + ch + 4), rq->act_min);
                vst1_s8(y + ch, vmovn_s16(vcombine_s16(vmovn_s32(ylo), vmovn_s32(yhi))));
            }
            for (; ch < c; ++ch) { /* channels past the last multiple of 8 */
                int32_t s = 0;
                for (int ky = ky0; ky < ky1; ++ky)
                    for (int kx = kx0; kx < kx1; ++kx)
                        s += in[((y0 + ky) * w + x0 + kx) * c + ch] *
                             weights[ch * kk + ky * k + kx];
                y[ch] = trit_requant(s, ch, rq);
            }
        }
    }
}
