/* ARMv7E-M flavour on cores with Helium (MVE, Cortex-M55): the equal-scale bit-sliced
 * pointwise loop of pw_ternary_bin.c for four pixels at once, pixel j in 32-bit lane j of each
 * 128-bit vector (lanes are still 32 output channels each). Lane vectors: V = x0 ^ ((x0 ^ x1)
 * & m), m all ones in the lanes whose activation bit is set; the same carry-save tree and
 * sliced compare as the scalar loop, on vectors. Activations, residual bits and outputs of the
 * four pixels move with gather loads and scatter stores. Included by pw_ternary_bin.c after
 * its macros when __ARM_FEATURE_MVE is defined. */
#include <arm_mve.h>

#define VCSA(h, l, a, b, c)                                                                    \
    do {                                                                                       \
        const uint32x4_t u_ = veorq_u32((a), (b)), c_ = (c);                                   \
        (h) = vorrq_u32(vandq_u32((a), (b)), vandq_u32(u_, c_));                               \
        (l) = veorq_u32(u_, c_);                                                               \
    } while (0)

/* All ones in the lanes whose bit k of a is set (k a constant). */
#define LANE_MASK(a, k)                                                                        \
    vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_u32(vshlq_n_u32((a), 31 - (k))), 31))

/* Lane vector of input word pair x[0], x[1] selected by mask m. */
static inline __attribute__((always_inline)) uint32x4_t select_lanes(const uint32_t *x,
                                                                     uint32x4_t m) {
    return veorq_u32(vdupq_n_u32(x[0]), vandq_u32(vdupq_n_u32(x[0] ^ x[1]), m));
}

/* Activation bits i.. of four pixels (the first at `act`, the others at in_offsets words),
 * bit i in bit 0 of each lane. */
static inline __attribute__((always_inline)) uint32x4_t activations(const uint32_t *act, int i,
                                                                    uint32x4_t in_offsets) {
    return vshlq_u32(vldrwq_gather_shifted_offset_u32(act + (i >> 5), in_offsets),
                     vdupq_n_s32(-(i & 31)));
}

/* Half adder of `carry` into counter plane c. */
#define VHALF_ADD(c, carry)                                                                    \
    do {                                                                                       \
        const uint32x4_t t_ = vandq_u32((c), (carry));                                         \
        (c) = veorq_u32((c), (carry));                                                         \
        (carry) = t_;                                                                          \
    } while (0)

/* Pixels p_begin .. in quads; returns the first pixel not done. */
static inline __attribute__((always_inline)) int sliced_quads(
    const uint32_t *in, int pixels, int cin, int w, int cout, const trit_threshold_t *thr,
    const uint32_t *residual, int res_w, int res_c, int res_stride, uint32_t *out,
    const uint32_t *X, const uint32_t *limits, const int nb, int p_begin) {
    const int iw = TRIT_WORDS(cin), ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    const int with_res = thr->has_residual && residual;
    const uint32x4_t lane = vidupq_n_u32(0, 1);             /* 0, 1, 2, 3 */
    const uint32x4_t in_offsets = vmulq_n_u32(lane, (uint32_t)iw);
    const uint32x4_t out_offsets = vmulq_n_u32(lane, (uint32_t)ow);
    int p = p_begin;
    for (; p + 4 <= pixels; p += 4) {
        uint32_t roff[4] = {0, 0, 0, 0};
        if (with_res)
            for (int j = 0; j < 4; ++j) {
                const int y = (p + j) / w, x = p + j - y * w;
                roff[j] = (uint32_t)(((y * res_stride) * res_w + x * res_stride) * rw);
            }
        const uint32x4_t res_offsets = vld1q_u32(roff);
        for (int g = 0; g < ow; ++g) {
            const uint32_t *xg = X + 2 * g * cin;
            uint32x4_t c0 = vdupq_n_u32(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
                       c7 = c0;
            int i = 0;
            for (; i + 16 <= cin; i += 16) {
                const uint32x4_t a = activations(in + p * iw, i, in_offsets);
                const uint32_t *x = xg + 2 * i;
#define VV(k) select_lanes(x + 2 * (k), LANE_MASK(a, k))
                uint32x4_t sixteens;
                HARLEY_SEAL16_T(uint32x4_t, VCSA, VV, c0, c1, c2, c3, sixteens);
#undef VV
                VHALF_ADD(c4, sixteens);
                if (nb > 5) VHALF_ADD(c5, sixteens);
                if (nb > 6) VHALF_ADD(c6, sixteens);
                if (nb > 7) c7 = veorq_u32(c7, sixteens);
            }
            if (i + 8 <= cin) {
                const uint32x4_t a = activations(in + p * iw, i, in_offsets);
                const uint32_t *x = xg + 2 * i;
#define VV(k) select_lanes(x + 2 * (k), LANE_MASK(a, k))
                uint32x4_t eights;
                HARLEY_SEAL8_T(uint32x4_t, VCSA, VV, c0, c1, c2, eights);
#undef VV
                VHALF_ADD(c3, eights);
                VHALF_ADD(c4, eights);
                if (nb > 5) VHALF_ADD(c5, eights);
                if (nb > 6) VHALF_ADD(c6, eights);
                if (nb > 7) c7 = veorq_u32(c7, eights);
                i += 8;
            }
            for (; i < cin; ++i) { /* the last inputs: ripple adds */
                const uint32x4_t a = activations(in + p * iw, i, in_offsets);
                uint32x4_t carry = select_lanes(xg + 2 * i, LANE_MASK(a, 0));
                VHALF_ADD(c0, carry);
                VHALF_ADD(c1, carry);
                VHALF_ADD(c2, carry);
                VHALF_ADD(c3, carry);
                VHALF_ADD(c4, carry);
                if (nb > 5) VHALF_ADD(c5, carry);
                if (nb > 6) VHALF_ADD(c6, carry);
                if (nb > 7) c7 = veorq_u32(c7, carry);
            }
            const uint32_t *kp = limits + g * 2 * SLICED_BITS_MAX, *km = kp + SLICED_BITS_MAX;
            const uint32x4_t rsel = (with_res && g < rw)
                ? vldrwq_gather_shifted_offset_u32(residual + g, res_offsets) : vdupq_n_u32(0);
            /* lanes with count >= limit + 1, most significant plane first */
            uint32x4_t lt = vdupq_n_u32(0), eq = vdupq_n_u32(~0u), k;
#define VPLANE(b, cb)                                                                          \
            if (nb > (b)) {                                                                    \
                k = veorq_u32(vdupq_n_u32(kp[b]), vandq_u32(vdupq_n_u32(kp[b] ^ km[b]), rsel)); \
                lt = vorrq_u32(lt, vbicq_u32(vandq_u32(eq, k), (cb)));                         \
                eq = vbicq_u32(eq, veorq_u32((cb), k));                                        \
            }
            VPLANE(7, c7) VPLANE(6, c6) VPLANE(5, c5) VPLANE(4, c4)
            VPLANE(3, c3) VPLANE(2, c2) VPLANE(1, c1) VPLANE(0, c0)
#undef VPLANE
            const int lanes = cout - g * 32 >= 32 ? 32 : cout - g * 32;
            const uint32_t lane_mask = lanes == 32 ? ~0u : (1u << lanes) - 1u;
            const uint32x4_t word = vandq_u32(veorq_u32(vmvnq_u32(lt), vdupq_n_u32(thr->negative[g])),
                                              vdupq_n_u32(lane_mask));
            vstrwq_scatter_shifted_offset_u32(out + p * ow + g, out_offsets, word);
        }
    }
    return p;
}
