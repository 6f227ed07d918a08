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
#include "rgb_lanes.h"

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

/* Patches of at most 32 bytes in rows of at most 16, images of at most PADDED_IMAGE_BYTES with
 * their border. */
static void small_patch(const int8_t *in, int h, int w, int cin, const int8_t *weights, int cout,
                        int k, int stride, int pad, const trit_threshold_t *thr, uint32_t *out,
                        int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int ow_words = TRIT_WORDS(cout), row = k * cin, len = k * row, cpad = (cout + 3) & ~3;
    const int hp = h + 2 * pad, wp = w + 2 * pad;
    int8_t img[hp * wp * cin + 16], wts[cpad][32], patch[48]; /* 16 bytes of slack each */
    memset(img, 0, sizeof img);
    for (int y = 0; y < h; ++y)
        memcpy(img + ((y + pad) * wp + pad) * cin, in + y * w * cin, (size_t)(w * cin));
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

/* 3 x 3 RGB at stride 1, at most 32 output channels, at least 8 output columns (rgb_lanes.h):
 * per output channel the eight pixels' sums compared with the threshold and their bits
 * selected into the pixels' output words. */
static void rgb_pixel_lanes(const int8_t *img, int wp, int oh, int ow, const int16_t *w16,
                            int cout, const trit_threshold_t *thr, uint32_t *out) {
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0;; ox += 8) {
            if (ox > ow - 8) ox = ow - 8;
            int16x8_t x[RGB_TAPS];
            int32x4_t part[32][2]; /* the first half's sums per channel */
            rgb_taps8(img, wp, oy, ox, 0, 5, x);
            for (int o = 0; o < cout; ++o)
                rgb_sums8_first(x, w16 + o * RGB_ROW_PITCH, &part[o][0], &part[o][1]);
            rgb_taps8(img, wp, oy, ox, 5, 9, x);
            uint32x4_t lo = vdupq_n_u32(0), hi = vdupq_n_u32(0);
            for (int o = 0; o < cout; ++o) {
                int32x4_t a = part[o][0], b = part[o][1];
                rgb_sums8_rest(x, w16 + o * RGB_ROW_PITCH, &a, &b);
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

void trit_conv_input_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                        int cout, int k, int stride, int pad, const trit_threshold_t *thr,
                        uint32_t *out, int32_t *scratch) {
    TRIT_NEON_WIDEN_THRESHOLDS(thr, cout);
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int ow_words = TRIT_WORDS(cout), row = k * cin, len = k * row;
    const int chunks = (len + 15) / 16, padded = 16 * chunks, cpad = (cout + 3) & ~3;
    if (cin == 3 && k == 3 && stride == 1 && cout <= 32 && rgb_lanes_fit(h, w, pad)) {
        int8_t img[RGB_IMAGE_BYTES(h, w, pad)];
        int16_t w16[cout * RGB_ROW_PITCH];
        rgb_padded_image(in, h, w, pad, img, sizeof img);
        rgb_weights16(weights, cout, w16);
        rgb_pixel_lanes(img, w + 2 * pad, oh, ow, w16, cout, thr, out);
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
