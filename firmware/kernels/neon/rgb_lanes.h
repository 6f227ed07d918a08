/* Private helper of the NEON input layers (the binary models' conv_input_s8.c and the int8
 * convolution in int8_conv.c): a 3 x 3 convolution over an RGB image at stride 1 with the
 * output pixels in the lanes, eight at a time.
 *
 * The image is copied once into a zero-bordered buffer (row pitch w + 2 pad pixels), so each
 * tap (ky, kx, colour) of eight horizontally adjacent output pixels is one lane-wise load:
 * vld3_s8 splits the colours of eight pixels, widened to int16 (27 vectors). Per output
 * channel, 27 x 2 multiply-adds by a weight lane (the channel's 27 weights widened to int16
 * once per call, a row of RGB_ROW_PITCH) sum the eight pixels into two int32x4 (products up to
 * 2^14, sums up to 27 * 2^14: no overflow), in two halves (taps 0..14 for every channel, kept
 * per channel, then taps 15..26), so that each half's taps stay in registers. The callers take
 * rows of passes of eight; the last pass of a row overlaps its predecessor where the width is
 * not a multiple of 8. */
#ifndef TRIT_NEON_RGB_LANES_H
#define TRIT_NEON_RGB_LANES_H

#include <string.h>

#include "neon_util.h"

#define RGB_TAPS 27
#define RGB_ROW_PITCH 32 /* int16 weights per output channel, the last 5 zero */
#define RGB_MAX_IMAGE_BYTES (256 * 1024) /* the bordered copy lives on the stack */
/* Bytes of the bordered copy: the last pass's vld3_s8 reads 24 bytes from its last tap. */
#define RGB_IMAGE_BYTES(h, w, pad) ((size_t)((h) + 2 * (pad)) * (size_t)((w) + 2 * (pad)) * 3u + 8u)

/* Whether an h x w image with padding pad takes this path: eight output columns or more (3 x 3,
 * stride 1), a bordered copy that fits RGB_MAX_IMAGE_BYTES. */
static inline int rgb_lanes_fit(int h, int w, int pad) {
    return w + 2 * pad - 2 >= 8 && h + 2 * pad >= 3 &&
           RGB_IMAGE_BYTES(h, w, pad) <= RGB_MAX_IMAGE_BYTES;
}

/* The image [h][w][3] with a zero border of pad pixels into img (bytes long). */
static inline void rgb_padded_image(const int8_t *in, int h, int w, int pad, int8_t *img,
                                    size_t bytes) {
    const int wp = w + 2 * pad;
    memset(img, 0, bytes);
    for (int y = 0; y < h; ++y)
        memcpy(img + ((y + pad) * wp + pad) * 3, in + y * w * 3, (size_t)(w * 3));
}

/* Weights [cout][27] (tap order ky, kx, colour) widened into rows [cout][RGB_ROW_PITCH]. */
static inline void rgb_weights16(const int8_t *weights, int cout, int16_t *w16) {
    int8_t row[RGB_ROW_PITCH] = {0};
    for (int o = 0; o < cout; ++o, w16 += RGB_ROW_PITCH) {
        memcpy(row, weights + o * RGB_TAPS, RGB_TAPS);
        const int8x16_t a = vld1q_s8(row), b = vld1q_s8(row + 16);
        vst1q_s16(w16, vmovl_s8(vget_low_s8(a)));
        vst1q_s16(w16 + 8, vmovl_s8(vget_high_s8(a)));
        vst1q_s16(w16 + 16, vmovl_s8(vget_low_s8(b)));
        vst1q_s16(w16 + 24, vmovl_s8(vget_high_s8(b)));
    }
}

/* Taps of window positions p0 .. p1 - 1 (position ky * 3 + kx) of output pixels (oy, ox ..
 * ox + 7) as int16 vectors, tap 3 * position + colour. */
static inline __attribute__((always_inline)) void rgb_taps8(const int8_t *img, int wp, int oy,
                                                            int ox, int p0, int p1,
                                                            int16x8_t x[RGB_TAPS]) {
    for (int p = p0; p < p1; ++p) {
        const int8x8x3_t v = vld3_s8(img + ((oy + p / 3) * wp + ox + p % 3) * 3);
        x[3 * p] = vmovl_s8(v.val[0]);
        x[3 * p + 1] = vmovl_s8(v.val[1]);
        x[3 * p + 2] = vmovl_s8(v.val[2]);
    }
}

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

/* The sums of the eight pixels with one channel's widened weights wo, in two halves so that
 * each half's taps stay in registers: rgb_sums8_first over taps 0..14 (window positions 0..4),
 * rgb_sums8_rest adds taps 15..26 to them; pixels 0..3 in lo, 4..7 in hi. */
static inline __attribute__((always_inline)) void
rgb_sums8_first(const int16x8_t x[RGB_TAPS], const int16_t *wo, int32x4_t *lo, int32x4_t *hi) {
    const rgb_weights_t wv[] = RGB_WEIGHTS(wo);
    int32x4_t a = vdupq_n_s32(0), b = vdupq_n_s32(0);
    RGB_ROW(0) RGB_TAP(9) RGB_TAP(10) RGB_TAP(11) RGB_TAP(12) RGB_TAP(13) RGB_TAP(14)
    *lo = a;
    *hi = b;
}

static inline __attribute__((always_inline)) void
rgb_sums8_rest(const int16x8_t x[RGB_TAPS], const int16_t *wo, int32x4_t *lo, int32x4_t *hi) {
    const rgb_weights_t wv[] = RGB_WEIGHTS(wo);
    int32x4_t a = *lo, b = *hi;
    RGB_TAP(15) RGB_TAP(16) RGB_TAP(17) RGB_ROW(18)
    *lo = a;
    *hi = b;
}
#undef RGB_ROW
#undef RGB_TAP
#undef RGB_WEIGHTS

#endif /* TRIT_NEON_RGB_LANES_H */
