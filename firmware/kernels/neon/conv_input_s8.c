/* NEON flavour: the input convolution, int8 pixels x int8 weights -> binary.
 *
 * Per output pixel the k x k x cin patch is gathered into a zero-padded byte row (taps outside
 * the image are 0), L = k*k*cin rounded up to 16 bytes. The weights, copied once per call into
 * rows of the same padded length, meet it in 16-byte chunks: vmull_s8 on each half (int16
 * products, |p| <= 2^14) and vpadalq_s16 into int32 lanes. Four output channels fold into one
 * vector by pairwise adds; the accumulators go through the threshold and pack.
 *
 * The 3 x 3 RGB layer at stride 1 (at most 32 output channels, 8 output columns or more) puts
 * the pixels in the lanes instead (rgb_pixel_lanes). Other small patches (L <= 32 bytes) copy
 * the image into a zero-bordered buffer on the stack (at most PADDED_IMAGE_BYTES), so each
 * patch row (at most 16 bytes) is one 16-byte copy without border tests, and the patch stays in
 * two registers while every output channel's weights stream past it.
 * Scratch (int32): acc[cout rounded up to 4]. */
#include <string.h>

#include "neon_util.h"

/* Int32 lanes whose sum is the dot product of two padded byte rows of `chunks` x 16 bytes. */
static inline int32x4_t dot_lanes(const int8_t *a, const int8_t *b, int chunks) {
    int32x4_t acc = vdupq_n_s32(0);
    for (int j = 0; j < chunks; ++j) {
        const int8x16_t x = vld1q_s8(a + 16 * j), y = vld1q_s8(b + 16 * j);
        acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
        acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(x), vget_high_s8(y)));
    }
    return acc;
}

#define PADDED_IMAGE_BYTES (256 * 1024)

/* Dot-product lanes of a 32-byte patch (x0, x1) with a 32-byte weight row. */
static inline __attribute__((always_inline)) int32x4_t dot32(int8x16_t x0, int8x16_t x1,
                                                             const int8_t *wrow) {
    const int8x16_t y0 = vld1q_s8(wrow), y1 = vld1q_s8(wrow + 16);
    int32x4_t acc = vpaddlq_s16(vmull_s8(vget_low_s8(x0), vget_low_s8(y0)));
    acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(x0), vget_high_s8(y0)));
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x1), vget_low_s8(y1)));
    return vpadalq_s16(acc, vmull_s8(vget_high_s8(x1), vget_high_s8(y1)));
}

/* The image with a zero border of pad pixels, row pitch w + 2 pad, into img. */
static void padded_image(const int8_t *in, int h, int w, int cin, int pad, int8_t *img,
                         size_t bytes) {
    const int wp = w + 2 * pad;
    memset(img, 0, bytes);
    for (int y = 0; y < h; ++y)
        memcpy(img + ((y + pad) * wp + pad) * cin, in + y * w * cin, (size_t)(w * cin));
}

/* Patches of at most 32 bytes in rows of at most 16, images of at most PADDED_IMAGE_BYTES with
 * their border. */
static void small_patch(const int8_t *in, int h, int w, int cin, const int8_t *weights, int cout,
                        int k, int stride, int pad, const trit_threshold_t *thr, uint32_t *out,
                        int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int ow_words = TRIT_WORDS(cout), row = k * cin, len = k * row, cpad = (cout + 3) & ~3;
    const int hp = h + 2 * pad, wp = w + 2 * pad;
    int8_t img[hp * wp * cin + 16], wts[cpad][32], patch[48]; /* 16 bytes of slack each */
    padded_image(in, h, w, cin, pad, img, sizeof img);
    memset(wts, 0, sizeof wts);
    for (int o = 0; o < cout; ++o) memcpy(wts[o], weights + o * len, (size_t)len);
    memset(patch, 0, sizeof patch);
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            /* 16-byte copies, in row order: each row's excess is overwritten by the next
             * row, the last one's lands past the weights' non-zero bytes */
            for (int ky = 0; ky < k; ++ky)
                vst1q_s8(patch + ky * row,
                         vld1q_s8(img + ((oy * stride + ky) * wp + ox * stride) * cin));
            const int8x16_t x0 = vld1q_s8(patch), x1 = vld1q_s8(patch + 16);
            for (int o = 0; o < cpad; o += 4) {
                const int32x4_t d0 = dot32(x0, x1, wts[o]), d1 = dot32(x0, x1, wts[o + 1]);
                const int32x4_t d2 = dot32(x0, x1, wts[o + 2]), d3 = dot32(x0, x1, wts[o + 3]);
                vst1q_s32(scratch + o, pairwise_s32(pairwise_s32(d0, d1), pairwise_s32(d2, d3)));
            }
            trit_threshold_pack(scratch, cout, thr, 0, 0, out + (oy * ow + ox) * ow_words);
        }
    }
}

/* 3 x 3 RGB at stride 1, at most 32 output channels, at least 8 output columns: eight output
 * pixels a pass, pixels in the lanes. The image (zero-bordered copy, row pitch wp pixels) gives
 * each tap (ky, kx, c) of the eight pixels through one vld3_s8 per (ky, kx), widened to int16;
 * per output channel, 27 x 2 multiply-adds by a weight lane (the channel's 27 weights widened
 * to int16, w16 [cout][28]) sum into two int32x4, compared with the threshold, and the
 * eight pixels' bits selected into their output words. The last pass overlaps its
 * predecessor where the width is not a multiple of 8. */
#ifdef __aarch64__ /* the high halves straight from the q registers (smlal2), weights by laneq */
#define RGB_TAP(t)                                                                             \
    a = vmlal_laneq_s16(a, vget_low_s16(x[t]), wv[(t) / 8], (t) % 8);                         \
    b = vmlal_high_laneq_s16(b, x[t], wv[(t) / 8], (t) % 8);
#define RGB_WEIGHTS(wo) {vld1q_s16(wo), vld1q_s16(wo + 8), vld1q_s16(wo + 16), vld1q_s16(wo + 24)}
typedef int16x8_t rgb_weights_t;
#else
#define RGB_TAP(t)                                                                             \
    a = vmlal_lane_s16(a, vget_low_s16(x[t]), wv[(t) / 4], (t) % 4);                          \
    b = vmlal_lane_s16(b, vget_high_s16(x[t]), wv[(t) / 4], (t) % 4);
#define RGB_WEIGHTS(wo)                                                                        \
    {vld1_s16(wo),      vld1_s16(wo + 4),  vld1_s16(wo + 8), vld1_s16(wo + 12),                \
     vld1_s16(wo + 16), vld1_s16(wo + 20), vld1_s16(wo + 24)}
typedef int16x4_t rgb_weights_t;
#endif
#define RGB_ROW(t) RGB_TAP(t) RGB_TAP(t + 1) RGB_TAP(t + 2) RGB_TAP(t + 3) RGB_TAP(t + 4)         \
    RGB_TAP(t + 5) RGB_TAP(t + 6) RGB_TAP(t + 7) RGB_TAP(t + 8)
static void rgb_pixel_lanes(const int8_t *img, int wp, int oh, int ow, const int16_t *w16,
                            int cout, const trit_threshold_t *thr, uint32_t *out) {
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0;; ox += 8) {
            if (ox > ow - 8) ox = ow - 8;
            int16x8_t x[27];
            for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) {
                    const int8x8x3_t v = vld3_s8(img + ((oy + ky) * wp + ox + kx) * 3);
                    const int t = (ky * 3 + kx) * 3;
                    x[t] = vmovl_s8(v.val[0]);
                    x[t + 1] = vmovl_s8(v.val[1]);
                    x[t + 2] = vmovl_s8(v.val[2]);
                }
            uint32x4_t lo = vdupq_n_u32(0), hi = vdupq_n_u32(0);
            for (int o = 0; o < cout; ++o) {
                const int16_t *wo = w16 + o * 28;
                const rgb_weights_t wv[] = RGB_WEIGHTS(wo);
                int32x4_t a = vdupq_n_s32(0), b = vdupq_n_s32(0);
                RGB_ROW(0) RGB_ROW(9) RGB_ROW(18)
                const int32x4_t t = vdupq_n_s32(trit_threshold_at(thr, o));
                const int negative = (int)((thr->negative[o / 32] >> (o % 32)) & 1u);
                const uint32x4_t bit = vdupq_n_u32(1u << (o % 32));
                lo = vbslq_u32(bit, negative ? vcgtq_s32(a, t) : vcltq_s32(a, t), lo);
                hi = vbslq_u32(bit, negative ? vcgtq_s32(b, t) : vcltq_s32(b, t), hi);
            }
            vst1q_u32(out + oy * ow + ox, lo);
            vst1q_u32(out + oy * ow + ox + 4, hi);
            if (ox == ow - 8) break;
        }
}
#undef RGB_ROW
#undef RGB_TAP
#undef RGB_WEIGHTS

void trit_conv_input_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                        int cout, int k, int stride, int pad, const trit_threshold_t *thr,
                        uint32_t *out, int32_t *scratch) {
    TRIT_NEON_WIDEN_THRESHOLDS(thr, cout);
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int ow_words = TRIT_WORDS(cout), row = k * cin, len = k * row;
    const int chunks = (len + 15) / 16, padded = 16 * chunks, cpad = (cout + 3) & ~3;
    if (k == 3 && cin == 3 && stride == 1 && cout <= 32 && ow >= 8 &&
        (size_t)(h + 2 * pad) * (size_t)(w + 2 * pad) * 3 <= PADDED_IMAGE_BYTES) {
        const int wp = w + 2 * pad;
        int8_t img[(h + 2 * pad) * wp * 3 + 8]; /* vld3_s8 of the last pass reads 24 bytes */
        int16_t w16[cout * 28];
        padded_image(in, h, w, 3, pad, img, sizeof img);
        for (int o = 0; o < cout; ++o)
            for (int t = 0; t < 28; ++t) w16[o * 28 + t] = t < 27 ? weights[o * 27 + t] : 0;
        rgb_pixel_lanes(img, wp, oh, ow, w16, cout, thr, out);
        return;
    }
    if (len <= 32 && row <= 16 &&
        (size_t)(h + 2 * pad) * (size_t)(w + 2 * pad) * (size_t)cin <= PADDED_IMAGE_BYTES) {
        small_patch(in, h, w, cin, weights, cout, k, stride, pad, thr, out, scratch);
        return;
    }
    int8_t patch[padded], wts[cpad][padded];
    memset(wts, 0, sizeof wts);
    for (int o = 0; o < cout; ++o) memcpy(wts[o], weights + o * len, (size_t)len);
    memset(patch, 0, sizeof patch);
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            for (int ky = 0; ky < k; ++ky) {
                const int y = oy * stride + ky - pad;
                for (int kx = 0; kx < k; ++kx) {
                    const int x = ox * stride + kx - pad;
                    int8_t *dst = patch + ky * row + kx * cin;
                    if (y < 0 || y >= h || x < 0 || x >= w) memset(dst, 0, (size_t)cin);
                    else memcpy(dst, in + (y * w + x) * cin, (size_t)cin);
                }
            }
            for (int o = 0; o < cpad; o += 4) {
                const int32x4_t d0 = dot_lanes(patch, wts[o], chunks);
                const int32x4_t d1 = dot_lanes(patch, wts[o + 1], chunks);
                const int32x4_t d2 = dot_lanes(patch, wts[o + 2], chunks);
                const int32x4_t d3 = dot_lanes(patch, wts[o + 3], chunks);
                vst1q_s32(scratch + o, pairwise_s32(pairwise_s32(d0, d1), pairwise_s32(d2, d3)));
            }
            trit_threshold_pack(scratch, cout, thr, 0, 0, out + (oy * ow + ox) * ow_words);
        }
    }
}
