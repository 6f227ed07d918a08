/* NEON flavour: global sum pooling of binary maps and the ternary dense classifier.
 *
 * Pooling: each 32-bit channel word of a pixel is spread over 32 byte lanes (bit l of byte
 * l / 8 selected by vtst: 0xFF where channel l is -1), and subtracting that mask counts the -1
 * in u8 lanes, widened into u16 sums every 255 pixels; out = pixels - 2 * count.
 * Dense: four inputs per vector, the weight planes' bits spread into lane masks. */
#include "neon_util.h"

/* Lanes 0..15 (half = 0) or 16..31 (half = 1) of word w: 0xFF where the bit is set. */
static inline uint8x16_t bit_lanes(uint32_t w, int half) {
    static const uint8_t select[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint32_t v = half ? w >> 16 : w;
    const uint8x16_t bytes = vcombine_u8(vdup_n_u8((uint8_t)v), vdup_n_u8((uint8_t)(v >> 8)));
    return vtstq_u8(bytes, vld1q_u8(select));
}

void trit_global_sum_pool_bin(const uint32_t *in, int pixels, int c, int32_t *out) {
    const int words = TRIT_WORDS(c);
    for (int j = 0; j < words; ++j) {
        uint16x8_t sum[4] = {vdupq_n_u16(0), vdupq_n_u16(0), vdupq_n_u16(0), vdupq_n_u16(0)};
        for (int p0 = 0; p0 < pixels; p0 += 255) {
            const int p1 = pixels - p0 < 255 ? pixels : p0 + 255;
            uint8x16_t lo = vdupq_n_u8(0), hi = vdupq_n_u8(0);
            for (int p = p0; p < p1; ++p) {
                const uint32_t w = in[p * words + j];
                lo = vsubq_u8(lo, bit_lanes(w, 0)); /* - 0xFF: + 1 */
                hi = vsubq_u8(hi, bit_lanes(w, 1));
            }
            sum[0] = vaddw_u8(sum[0], vget_low_u8(lo));
            sum[1] = vaddw_u8(sum[1], vget_high_u8(lo));
            sum[2] = vaddw_u8(sum[2], vget_low_u8(hi));
            sum[3] = vaddw_u8(sum[3], vget_high_u8(hi));
        }
        uint16_t count[32];
        for (int q = 0; q < 4; ++q) vst1q_u16(count + 8 * q, sum[q]);
        for (int l = 0; l < 32 && 32 * j + l < c; ++l)
            out[32 * j + l] = pixels - 2 * (int32_t)count[l];
    }
}

void trit_dense_ternary(const int32_t *in, int cin, const uint32_t *sign, const uint32_t *nz,
                        trit_scales_t s, const int32_t *bias, int cout, int32_t *out) {
    const int words = TRIT_WORDS(cin);
    const uint32x4_t lane_bits = lane_bits4();
    for (int o = 0; o < cout; ++o) {
        int32x4_t p = vdupq_n_s32(0), n = vdupq_n_s32(0);
        int i = 0;
        for (; i + 4 <= cin; i += 4) {
            const uint32_t sh = (uint32_t)(i % 32);
            const uint32_t zb = nz[o * words + i / 32] >> sh, sb = sign[o * words + i / 32] >> sh;
            const uint32x4_t z = vtstq_u32(vdupq_n_u32(zb), lane_bits);
            const uint32x4_t m = vtstq_u32(vdupq_n_u32(sb), lane_bits);
            const int32x4_t x = vandq_s32(vld1q_s32(in + i), vreinterpretq_s32_u32(z));
            n = vaddq_s32(n, vandq_s32(x, vreinterpretq_s32_u32(m)));
            p = vaddq_s32(p, vbicq_s32(x, vreinterpretq_s32_u32(m)));
        }
        int32_t ps = vgetq_lane_s32(p, 0) + vgetq_lane_s32(p, 1) + vgetq_lane_s32(p, 2) +
                     vgetq_lane_s32(p, 3);
        int32_t ns = vgetq_lane_s32(n, 0) + vgetq_lane_s32(n, 1) + vgetq_lane_s32(n, 2) +
                     vgetq_lane_s32(n, 3);
        for (; i < cin; ++i) {
            const uint32_t bit = 1u << (i % 32);
            if (!(nz[o * words + i / 32] & bit)) continue;
            if (sign[o * words + i / 32] & bit) ns += in[i];
            else ps += in[i];
        }
        out[o] = s.wp * ps - s.wn * ns + bias[o];
    }
}
