/* NEON flavour: depthwise k x k ternary x binary convolution, 16 channels per int8 vector.
 *
 * For each group of 16 channels the codes are transposed once per call into c_t[tap][16]
 * (and |c_t|). Per output pixel and valid tap, the 16 activation bits become int8 lanes
 * v = +-1 (vtst + orr), and S1 += v * c, S2 += v * |c| (vmlaq_s8; |S| <= k*k <= 127). Then
 * P = (S2 + S1) / 2 and N = (S2 - S1) / 2 exactly (vhadd/vhsub: the sums are even), widened to
 * int32 lanes, acc = wp P - wn N, thresholded and packed 16 bits at a time into the output word
 * (groups are 16-channel aligned, so each fills half a word). Taps outside the image add 0.
 * Channels past c in the last group have zero codes and their bits are masked off.
 * The transposed codes live on the stack (k*k*32 bytes). Kernels of more than 127 taps (k > 11,
 * where the int8 sums could overflow) take a per-channel scalar path through the scratch. */
#include <string.h>

#include "neon_util.h"

#define GROUP 16

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
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c);
    for (int o = 0; o < oh * ow; ++o) {
        const int oy = o / ow, ox = o % ow;
        for (int ch = 0; ch < c; ++ch) {
            int32_t p = 0, n = 0;
            for (int t = 0; t < k * k; ++t) {
                const int y = oy * stride + t / k - pad, x = ox * stride + t % k - pad;
                if (y < 0 || y >= h || x < 0 || x >= w || !codes[ch * k * k + t]) continue;
                const int v = 1 - 2 * (int)((in[(y * w + x) * words + ch / 32] >> (ch % 32)) & 1u);
                if (codes[ch * k * k + t] > 0) p += v; else n += v;
            }
            scratch[ch] = s.wp * p - s.wn * n;
        }
        trit_threshold_pack(scratch, c, thr, 0, 0, out + o * words);
    }
}

void trit_dw_ternary_bin(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c), kk = k * k;
    const uint32x4_t lane_bits = lane_bits4();
    for (int o = 0; o < oh * ow; ++o)
        for (int j = 0; j < words; ++j) out[o * words + j] = 0;
    if (kk > 127) {
        large_kernel(in, h, w, c, codes, s, k, stride, pad, thr, out, scratch);
        return;
    }
    int8_t code_t[kk][GROUP], abs_t[kk][GROUP];
    for (int g = 0; g < c; g += GROUP) {
        const int lanes = c - g < GROUP ? c - g : GROUP;
        memset(code_t, 0, sizeof code_t);
        for (int l = 0; l < lanes; ++l)
            for (int t = 0; t < kk; ++t) code_t[t][l] = codes[(g + l) * kk + t];
        for (int t = 0; t < kk; ++t) vst1q_s8(abs_t[t], vabsq_s8(vld1q_s8(code_t[t])));
        /* thresholds and directions of the group, padded past c */
        int32_t thr_g[GROUP] = {0};
        for (int l = 0; l < lanes; ++l)
            thr_g[l] = thr->has_residual ? thr->threshold[3 * (g + l) + 1] : thr->threshold[g + l];
        const uint32_t negative = thr->negative[g / 32] >> (g % 32);
        const uint32_t valid = lanes == GROUP ? 0xFFFFu : (1u << lanes) - 1u;
        const int word = g / 32, shift = g % 32;
        for (int oy = 0; oy < oh; ++oy) {
            for (int ox = 0; ox < ow; ++ox) {
                int8x16_t s1 = vdupq_n_s8(0), s2 = vdupq_n_s8(0);
                for (int ky = 0; ky < k; ++ky) {
                    const int y = oy * stride + ky - pad;
                    if (y < 0 || y >= h) continue;
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = ox * stride + kx - pad;
                        if (x < 0 || x >= w) continue;
                        const int8x16_t v = expand16(in[(y * w + x) * words + word] >> shift);
                        s1 = vmlaq_s8(s1, v, vld1q_s8(code_t[ky * k + kx]));
                        s2 = vmlaq_s8(s2, v, vld1q_s8(abs_t[ky * k + kx]));
                    }
                }
                const int8x16_t p8 = vhaddq_s8(s2, s1), n8 = vhsubq_s8(s2, s1);
                const int16x8_t plo = vmovl_s8(vget_low_s8(p8)), phi = vmovl_s8(vget_high_s8(p8));
                const int16x8_t nlo = vmovl_s8(vget_low_s8(n8)), nhi = vmovl_s8(vget_high_s8(n8));
                const int32x4_t acc[4] = {
                    scale4(vget_low_s16(plo), vget_low_s16(nlo), s),
                    scale4(vget_high_s16(plo), vget_high_s16(nlo), s),
                    scale4(vget_low_s16(phi), vget_low_s16(nhi), s),
                    scale4(vget_high_s16(phi), vget_high_s16(nhi), s)};
                uint32x4_t bits = vdupq_n_u32(0), select = lane_bits;
                for (int q = 0; q < 4; ++q) {
                    const uint32x4_t b = threshold_bits4(acc[q], vld1q_s32(thr_g + 4 * q),
                                                         negative >> (4 * q), lane_bits);
                    bits = vorrq_u32(bits, vandq_u32(b, select));
                    select = vshlq_n_u32(select, 4);
                }
                out[(oy * ow + ox) * words + word] |= (sum_u32(bits) & valid) << shift;
            }
        }
    }
}
