/* NEON flavour: helpers shared by its kernels (AArch64 and 32-bit ARMv7-A NEON). */
#ifndef TRIT_NEON_UTIL_H
#define TRIT_NEON_UTIL_H

#include <arm_neon.h>
#include <stdint.h>

#include "trit/kernels.h"

/* Pairwise add of adjacent u8 lanes of a and then b: [a0+a1 .. a14+a15, b0+b1 .. b14+b15]. */
static inline uint8x16_t pairwise_u8(uint8x16_t a, uint8x16_t b) {
#ifdef __aarch64__
    return vpaddq_u8(a, b);
#else
    return vcombine_u8(vpadd_u8(vget_low_u8(a), vget_high_u8(a)),
                       vpadd_u8(vget_low_u8(b), vget_high_u8(b)));
#endif
}

/* Pairwise add of adjacent u16 lanes of a and then b: [a0+a1 .. a6+a7, b0+b1 .. b6+b7]. */
static inline uint16x8_t pairwise_u16(uint16x8_t a, uint16x8_t b) {
#ifdef __aarch64__
    return vpaddq_u16(a, b);
#else
    return vcombine_u16(vpadd_u16(vget_low_u16(a), vget_high_u16(a)),
                        vpadd_u16(vget_low_u16(b), vget_high_u16(b)));
#endif
}

/* Pairwise add of adjacent s32 lanes of a and then b: [a0+a1, a2+a3, b0+b1, b2+b3]. */
static inline int32x4_t pairwise_s32(int32x4_t a, int32x4_t b) {
#ifdef __aarch64__
    return vpaddq_s32(a, b);
#else
    return vcombine_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)),
                        vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
#endif
}

/* Sum of the four u32 lanes. */
static inline uint32_t sum_u32(uint32x4_t v) {
#ifdef __aarch64__
    return vaddvq_u32(v);
#else
    const uint32x2_t s = vadd_u32(vget_low_u32(v), vget_high_u32(v));
    return vget_lane_u32(vpadd_u32(s, s), 0);
#endif
}

/* Output bits of four channels (1 = -1) from accumulators and thresholds: a channel is +1 when
 * acc >= t, or acc <= t where its direction bit (bit l of negative4, lane l) is set. */
static inline uint32x4_t threshold_bits4(int32x4_t acc, int32x4_t t, uint32_t negative4,
                                         uint32x4_t lane_bits) {
    const uint32x4_t neg = vtstq_u32(vdupq_n_u32(negative4), lane_bits);
    return vbslq_u32(neg, vcgtq_s32(acc, t), vcltq_s32(acc, t));
}

/* Lane l holds 1 << l: selects bit l of a 4-bit group. */
static inline uint32x4_t lane_bits4(void) {
    static const uint32_t bits[4] = {1u, 2u, 4u, 8u};
    return vld1q_u32(bits);
}

/* Threshold of channel c for a pixel whose residual bits are `residual` (NULL: none); channels
 * at or past res_channels see residual value 0. */
static inline int32_t channel_threshold(const trit_threshold_t *thr, int c,
                                        const uint32_t *residual, int res_channels) {
    if (!thr->has_residual) return trit_threshold_at(thr, c);
    int r = 0;
    if (residual && c < res_channels) r = ((residual[c / 32] >> (c % 32)) & 1u) ? -1 : 1;
    return trit_threshold_at(thr, 3 * c + r + 1);
}

/* Output bit of channel c (1 = -1), scalar. */
static inline uint32_t channel_bit(int32_t acc, int c, const trit_threshold_t *thr,
                                   const uint32_t *residual, int res_channels) {
    const int32_t t = channel_threshold(thr, c, residual, res_channels);
    const int negative = (int)((thr->negative[c / 32] >> (c % 32)) & 1u);
    return (uint32_t)(negative ? acc > t : acc < t);
}

/* The NEON kernels compare int32 lanes: thresholds stored narrower (IR version 4) are widened
 * once per call into a copy on the stack (Linux stacks; at most three words per channel) and
 * `thr` is pointed at it, so the per-pixel loops load int32 vectors as before. */
#define TRIT_NEON_WIDEN_THRESHOLDS(thr, channels)                                            \
    const int wide_n_ = (thr)->threshold ? 1 : (channels) * ((thr)->has_residual ? 3 : 1);  \
    int32_t wide_thr_[wide_n_];                                                                \
    trit_threshold_t wide_t_;                                                                  \
    if (!(thr)->threshold) {                                                                   \
        for (int i_ = 0; i_ < wide_n_; ++i_) wide_thr_[i_] = trit_threshold_at((thr), i_);    \
        wide_t_ = *(thr);                                                                      \
        wide_t_.threshold = wide_thr_;                                                         \
        wide_t_.threshold8 = 0;                                                                \
        wide_t_.threshold16 = 0;                                                               \
        (thr) = &wide_t_;                                                                      \
    }

/* Thresholds of channels c .. c + 3 (all < the layer's channel count). With a residual,
 * vld3q de-interleaves the [C][3] columns (residual -1, 0, +1) and the residual bits pick one
 * per lane. */
static inline int32x4_t thresholds4(const trit_threshold_t *thr, int c, const uint32_t *residual,
                                    int res_channels, uint32x4_t lane_bits) {
    if (!thr->has_residual) return vld1q_s32(thr->threshold + c);
    const int32x4x3_t cols = vld3q_s32(thr->threshold + 3 * c);
    if (!residual || c >= res_channels) return cols.val[1];
    if (c + 4 <= res_channels) {
        const uint32x4_t minus = vtstq_u32(vdupq_n_u32(residual[c / 32] >> (c % 32)), lane_bits);
        return vbslq_s32(minus, cols.val[0], cols.val[2]);
    }
    static const int32_t lane_index[4] = {0, 1, 2, 3};
    const uint32x4_t present = vcltq_s32(vaddq_s32(vld1q_s32(lane_index), vdupq_n_s32(c)),
                                         vdupq_n_s32(res_channels));
    const uint32x4_t minus = vandq_u32(
        present, vtstq_u32(vdupq_n_u32(residual[c / 32] >> (c % 32)), lane_bits));
    return vbslq_s32(minus, cols.val[0], vbslq_s32(present, cols.val[2], cols.val[1]));
}

/* Output bits (bit l = channel c + l, 1 = -1) of the eight channels c .. c + 7. */
static inline uint32_t threshold_bits8(int32x4_t lo, int32x4_t hi, int c,
                                       const trit_threshold_t *thr, const uint32_t *residual,
                                       int res_channels, uint32x4_t lane_bits) {
    const uint32_t negative = thr->negative[c / 32] >> (c % 32);
    const uint32x4_t b0 = threshold_bits4(lo, thresholds4(thr, c, residual, res_channels,
                                                          lane_bits), negative, lane_bits);
    const uint32x4_t b1 = threshold_bits4(hi, thresholds4(thr, c + 4, residual, res_channels,
                                                          lane_bits), negative >> 4, lane_bits);
    return sum_u32(vorrq_u32(vandq_u32(b0, lane_bits),
                             vandq_u32(b1, vshlq_n_u32(lane_bits, 4))));
}

/* Equal scales alpha > 0 turn a threshold into a limit on the count of -1 products
 * (codegen/sliced.py, count_limit): the quotient ceil(t / alpha), floor(t / alpha) for a
 * negative direction, clamped to +-1024, which decides every count of up to 255 inputs the
 * same way as the exact one. */
static inline int32_t limit_quotient(int32_t t, int negative, int32_t alpha) {
    int32_t q = t / alpha; /* truncated */
    if (!negative && t % alpha != 0 && t > 0) ++q;
    if (negative && t % alpha != 0 && t < 0) --q;
    return q < -1024 ? -1024 : q > 1024 ? 1024 : q;
}

/* K + 1 for a channel of n non-zero weights (n <= 255) and quotient q: the output is -1
 * exactly when (count >= K + 1) XOR negative. */
static inline uint32_t count_limit1(int32_t q, int negative, int n) {
    int32_t k = negative ? -((q - n) >> 1) - 1 : (n - q) >> 1; /* >> 1: floor halving */
    k = k < -1 ? -1 : k > n ? n : k;
    return (uint32_t)(k + 1);
}

/* trit_requant of the four sums s, lane l with the parameters of channel ch[l]. */
static inline int32x4_t requant4_neon(int32x4_t s, int32x4_t bias, int32x4_t mult,
                                      int32x4_t shift, int32_t act_min) {
    const int32x4_t v = vaddq_s32(s, bias);
    const int32x2_t lo = vshrn_n_s64(vmull_s32(vget_low_s32(v), vget_low_s32(mult)), 32);
    const int32x2_t hi = vshrn_n_s64(vmull_s32(vget_high_s32(v), vget_high_s32(mult)), 32);
    /* (x + 2^(r - 1)) >> r, r = shift - 32: a rounding shift by -r */
    const int32x4_t y = vrshlq_s32(vcombine_s32(lo, hi), vsubq_s32(vdupq_n_s32(32), shift));
    return vminq_s32(vmaxq_s32(y, vdupq_n_s32(act_min)), vdupq_n_s32(127));
}

/* acc + the products of the high eight int8 lanes of x and w, in int16 lanes (SMLAL2 on
 * AArch64, no extraction of the halves). */
static inline int16x8_t mlal_high_s8(int16x8_t acc, int8x16_t x, int8x16_t w) {
#ifdef __aarch64__
    return vmlal_high_s8(acc, x, w);
#else
    return vmlal_s8(acc, vget_high_s8(x), vget_high_s8(w));
#endif
}

/* Four consecutive pixels of n words each (n = 1..4) from p, de-interleaved: v[j] = word j
 * of the four pixels (vld1q .. vld4q). */
static inline __attribute__((always_inline)) void load_words4(const uint32_t *p, const int n,
                                                              uint32x4_t *v) {
    if (n == 1) {
        v[0] = vld1q_u32(p);
    } else if (n == 2) {
        const uint32x4x2_t a = vld2q_u32(p);
        v[0] = a.val[0], v[1] = a.val[1];
    } else if (n == 3) {
        const uint32x4x3_t a = vld3q_u32(p);
        v[0] = a.val[0], v[1] = a.val[1], v[2] = a.val[2];
    } else {
        const uint32x4x4_t a = vld4q_u32(p);
        v[0] = a.val[0], v[1] = a.val[1], v[2] = a.val[2], v[3] = a.val[3];
    }
}

/* The inverse of load_words4: v[j] as word j of four consecutive pixels at p. */
static inline __attribute__((always_inline)) void store_words4(uint32_t *p, const int n,
                                                           const uint32x4_t *v) {
    if (n == 1) {
        vst1q_u32(p, v[0]);
    } else if (n == 2) {
        const uint32x4x2_t a = {{v[0], v[1]}};
        vst2q_u32(p, a);
    } else if (n == 3) {
        const uint32x4x3_t a = {{v[0], v[1], v[2]}};
        vst3q_u32(p, a);
    } else {
        const uint32x4x4_t a = {{v[0], v[1], v[2], v[3]}};
        vst4q_u32(p, a);
    }
}

#endif /* TRIT_NEON_UTIL_H */
