/* ARMv7E-M flavour: pointwise ternary x binary convolution by popcount.
 *
 * Activation bits a (1 = -1), weight planes s (1 = -1) and nz (1 = non-zero).
 * Equal scales (wp == wn = alpha): acc = alpha * (|nz| - 2 cnt), cnt = popcount(nz & (a ^ s));
 *   the batch-norm threshold becomes a count limit per channel (and residual value), computed
 *   once per call or made by the code generator (the sliced constants, or the nibble tables'
 *   counter start values). The counts come from nibble tables (pw_nibble_lut.h: cin <= 127 and 32
 *   pixels or more; on Helium the bit-sliced kernel below comes first), the bit-sliced kernel
 *   (32 output channels per word), or, where neither fits the scratch, one popcount chain per
 *   output.
 * Unequal scales: with t = nz & a (inputs -1 under non-zero weights) and u = t & s,
 *   acc = wp |nz & ~s| - wn |nz & s| - 2 wp popcount(t) + 2 (wp + wn) popcount(u).
 * Popcounts are SWAR nibble counts summed with USADA8 (bitcount.h). */
#include "bitcount.h"
#include "trit/kernels.h"

/* Count limits of output channel o with n non-zero weights: *lp for residual +1 (or no
 * residual), *lm for residual -1; equal for channels past the residual's, which see 0. */
static void channel_limits(const trit_threshold_t *thr, int o, int res_c,
                           const uint32_t *residual, int32_t alpha, int32_t n, int32_t *lp,
                           int32_t *lm) {
    const int negative = (int)((thr->negative[o >> 5] >> (o & 31)) & 1u);
    if (!thr->has_residual) {
        *lp = *lm = count_limit(trit_threshold_at(thr, o), negative, alpha, n);
    } else if (o < res_c && residual) {
        *lm = count_limit(trit_threshold_at(thr, 3 * o), negative, alpha, n);
        *lp = count_limit(trit_threshold_at(thr, 3 * o + 2), negative, alpha, n);
    } else {
        *lp = *lm = count_limit(trit_threshold_at(thr, 3 * o + 1), negative, alpha, n);
    }
}

/* ---- equal scales, bit-sliced over output channels ----------------------------------------
 * Lanes are 32 output channels. For input channel i, X[i][0] marks the lanes whose product is
 * -1 when the input is +1 (weight -1: nz & s) and X[i][1] those whose product is -1 when the
 * input is -1 (weight +1: nz & ~s); the activation bit selects one vector per input. A
 * Harley-Seal carry-save tree adds 16 such vectors in 15 full adders into sliced counters
 * (ones, twos, fours, eights, then higher planes), and the count limits, sliced the same way,
 * are compared with all 32 lanes at once. The weight planes are transposed once per call. */

#define SLICED_BITS_MAX 8 /* counts up to 255: cin <= 254 */

/* Carry-save adder: a + b + c = 2 * h + l. */
#define CSA(h, l, a, b, c)                                                                     \
    do {                                                                                       \
        const uint32_t u_ = (a) ^ (b), c_ = (c);                                               \
        (h) = ((a) & (b)) | (u_ & c_);                                                         \
        (l) = u_ ^ c_;                                                                         \
    } while (0)

/* Harley-Seal: add the 16 lane vectors V(0..15) into the sliced counter (c0 = ones, c1 = twos,
 * c2 = fours, c3 = eights) with 15 carry-save adders CSA_ on values of type T; `out16`
 * receives the sixteens. HARLEY_SEAL16: on 32-bit words. */
#define HARLEY_SEAL16_T(T, CSA_, V, c0, c1, c2, c3, out16)                                     \
    do {                                                                                       \
        T twos_a, twos_b, fours_a, fours_b, eights_a, eights_b;                                \
        CSA_(twos_a, c0, c0, V(0), V(1));                                                      \
        CSA_(twos_b, c0, c0, V(2), V(3));                                                      \
        CSA_(fours_a, c1, c1, twos_a, twos_b);                                                 \
        CSA_(twos_a, c0, c0, V(4), V(5));                                                      \
        CSA_(twos_b, c0, c0, V(6), V(7));                                                      \
        CSA_(fours_b, c1, c1, twos_a, twos_b);                                                 \
        CSA_(eights_a, c2, c2, fours_a, fours_b);                                              \
        CSA_(twos_a, c0, c0, V(8), V(9));                                                      \
        CSA_(twos_b, c0, c0, V(10), V(11));                                                    \
        CSA_(fours_a, c1, c1, twos_a, twos_b);                                                 \
        CSA_(twos_a, c0, c0, V(12), V(13));                                                    \
        CSA_(twos_b, c0, c0, V(14), V(15));                                                    \
        CSA_(fours_b, c1, c1, twos_a, twos_b);                                                 \
        CSA_(eights_b, c2, c2, fours_a, fours_b);                                              \
        CSA_(out16, c3, c3, eights_a, eights_b);                                               \
    } while (0)
#define HARLEY_SEAL16(V, c0, c1, c2, c3, out16) HARLEY_SEAL16_T(uint32_t, CSA, V, c0, c1, c2, c3, out16)

/* Harley-Seal on 8 lane vectors V(0..7): into c0 (ones), c1 (twos), c2 (fours) with 7
 * carry-save adders; `out8` receives the eights. */
#define HARLEY_SEAL8_T(T, CSA_, V, c0, c1, c2, out8)                                           \
    do {                                                                                       \
        T twos_a, twos_b, fours_a, fours_b;                                                    \
        CSA_(twos_a, c0, c0, V(0), V(1));                                                      \
        CSA_(twos_b, c0, c0, V(2), V(3));                                                      \
        CSA_(fours_a, c1, c1, twos_a, twos_b);                                                 \
        CSA_(twos_a, c0, c0, V(4), V(5));                                                      \
        CSA_(twos_b, c0, c0, V(6), V(7));                                                      \
        CSA_(fours_b, c1, c1, twos_a, twos_b);                                                 \
        CSA_(out8, c2, c2, fours_a, fours_b);                                                  \
    } while (0)
#define HARLEY_SEAL8(V, c0, c1, c2, out8) HARLEY_SEAL8_T(uint32_t, CSA, V, c0, c1, c2, out8)

#ifdef __ARM_FEATURE_MVE
#include "pw_sliced_helium.h"
/* the largest map (pixels per call) on which the Helium sliced kernel runs before the tables */
#define HELIUM_MAX_PIXELS 64
#endif
#include "pw_nibble_lut.h"

static inline __attribute__((always_inline)) void sliced_pixels(
    const uint32_t *in, int pixels, int cin, int w, int cout, const trit_threshold_t *thr,
    const uint32_t *residual, int res_w, int res_c, int res_stride, uint32_t *out,
    const uint32_t *X, const uint32_t *limits, const int nb, int p_begin) {
    const int iw = TRIT_WORDS(cin), ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    const int with_res = thr->has_residual && residual;
#ifdef __ARM_FEATURE_MVE
    p_begin = sliced_quads(in, pixels, cin, w, cout, thr, residual, res_w, res_c, res_stride,
                           out, X, limits, nb, p_begin);
#endif
    for (int p = p_begin; p < pixels; ++p) {
        const uint32_t *act = in + p * iw;
        const uint32_t *r = 0;
        if (with_res) {
            const int y = p / w, x = p - y * w;
            r = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
        }
        for (int g = 0; g < ow; ++g) {
            const uint32_t *xg = X + 2 * g * cin;
            /* count planes c0..c7 (c0 = ones ... c3 = eights); planes >= nb stay zero */
            uint32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
            int i = 0;
            for (; i + 16 <= cin; i += 16) {
                const uint32_t a = act[i >> 5] >> (i & 31);
                const uint32_t *x = xg + 2 * i;
#define V(k) x[2 * (k) + ((a >> (k)) & 1u)]
                uint32_t sixteens, t;
                HARLEY_SEAL16(V, c0, c1, c2, c3, sixteens);
#undef V
                /* add the sixteens into planes 4.. (half adders; nb is a constant) */
                t = c4 & sixteens; c4 ^= sixteens; sixteens = t;
                if (nb > 5) { t = c5 & sixteens; c5 ^= sixteens; sixteens = t; }
                if (nb > 6) { t = c6 & sixteens; c6 ^= sixteens; sixteens = t; }
                if (nb > 7) { c7 ^= sixteens; }
            }
            if (i + 8 <= cin) { /* a group of 8 (e.g. 24 inputs = 16 + 8) */
                const uint32_t a = act[i >> 5] >> (i & 31);
                const uint32_t *x = xg + 2 * i;
#define V(k) x[2 * (k) + ((a >> (k)) & 1u)]
                uint32_t eights, t;
                HARLEY_SEAL8(V, c0, c1, c2, eights);
#undef V
                t = c3 & eights; c3 ^= eights; eights = t;
                t = c4 & eights; c4 ^= eights; eights = t;
                if (nb > 5) { t = c5 & eights; c5 ^= eights; eights = t; }
                if (nb > 6) { t = c6 & eights; c6 ^= eights; eights = t; }
                if (nb > 7) { c7 ^= eights; }
                i += 8;
            }
            for (; i < cin; ++i) { /* the last inputs: ripple adds through the nb planes */
                uint32_t carry = xg[2 * i + ((act[i >> 5] >> (i & 31)) & 1u)], t;
                t = c0 & carry; c0 ^= carry; carry = t;
                t = c1 & carry; c1 ^= carry; carry = t;
                t = c2 & carry; c2 ^= carry; carry = t;
                t = c3 & carry; c3 ^= carry; carry = t;
                t = c4 & carry; c4 ^= carry; carry = t;
                if (nb > 5) { t = c5 & carry; c5 ^= carry; carry = t; }
                if (nb > 6) { t = c6 & carry; c6 ^= carry; carry = t; }
                if (nb > 7) { c7 ^= carry; }
            }
            const uint32_t *kp = limits + g * 2 * SLICED_BITS_MAX, *km = kp + SLICED_BITS_MAX;
            const uint32_t rsel = (r && g < rw) ? r[g] : 0u; /* lanes with residual -1 */
            /* lanes with count >= limit + 1, most significant plane first */
            uint32_t lt = 0, eq = ~0u, k;
#define PLANE(b, cb)                                                                           \
            if (nb > (b)) {                                                                    \
                k = kp[b] ^ ((kp[b] ^ km[b]) & rsel);                                          \
                lt |= eq & k & ~(cb);                                                          \
                eq &= ~((cb) ^ k);                                                             \
            }
            PLANE(7, c7) PLANE(6, c6) PLANE(5, c5) PLANE(4, c4)
            PLANE(3, c3) PLANE(2, c2) PLANE(1, c1) PLANE(0, c0)
#undef PLANE
            const int lanes = cout - g * 32 >= 32 ? 32 : cout - g * 32;
            const uint32_t lane_mask = lanes == 32 ? ~0u : (1u << lanes) - 1u;
            out[p * ow + g] = (~lt ^ thr->negative[g]) & lane_mask;
        }
    }
}

/* cin <= 16 and cout <= 16: two pixels share the 32 lanes (channels of pixel p in lanes 0-15,
 * of pixel p + 1 in lanes 16-31). X4[i][a + 2b] holds input i's lane vector for activation
 * bits a (pixel p) and b (pixel p + 1); the limits are duplicated into both halves. Returns
 * the number of pixels done (an even count). */
static int sliced_pixel_pairs16(const uint32_t *in, int pixels, int cin, int w, int cout,
                                const trit_threshold_t *thr, const uint32_t *residual,
                                int res_w, int res_stride, uint32_t *out, const uint32_t *X,
                                const uint32_t *limits, uint32_t *X4) {
    for (int i = 0; i < cin; ++i)
        for (int ab = 0; ab < 4; ++ab)
            X4[4 * i + ab] = (X[2 * i + (ab & 1)] & 0xFFFFu) | (X[2 * i + (ab >> 1)] << 16);
    uint32_t kp[5], km[5];
    for (int b = 0; b < 5; ++b) {
        kp[b] = (limits[b] & 0xFFFFu) | (limits[b] << 16);
        km[b] = (limits[SLICED_BITS_MAX + b] & 0xFFFFu) | (limits[SLICED_BITS_MAX + b] << 16);
    }
    const uint32_t neg = (thr->negative[0] & 0xFFFFu) | (thr->negative[0] << 16);
    const uint32_t half = cout == 16 ? 0xFFFFu : (1u << cout) - 1u;
    const int with_res = thr->has_residual && residual;
    int p = 0;
    for (; p + 1 < pixels; p += 2) {
        const uint32_t c = (in[p] & 0xFFFFu) | (in[p + 1] << 16);
        uint32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, t;
#define V(k) X4[4 * (k) + (((c >> (k)) & 1u) | ((c >> (15 + (k))) & 2u))]
        if (cin == 16) {
            HARLEY_SEAL16(V, c0, c1, c2, c3, c4);
        } else {
            for (int i = 0; i < cin; ++i) {
                uint32_t carry = V(i);
                t = c0 & carry; c0 ^= carry; carry = t;
                t = c1 & carry; c1 ^= carry; carry = t;
                t = c2 & carry; c2 ^= carry; carry = t;
                t = c3 & carry; c3 ^= carry; carry = t;
                c4 ^= carry;
            }
        }
#undef V
        uint32_t rsel = 0;
        if (with_res) {
            const int y = p / w, x = p - y * w, y2 = (p + 1) / w, x2 = p + 1 - y2 * w;
            rsel = (residual[(y * res_stride) * res_w + x * res_stride] & 0xFFFFu) |
                   (residual[(y2 * res_stride) * res_w + x2 * res_stride] << 16);
        }
        uint32_t lt = 0, eq = ~0u, k;
#define PLANE(b, cb)                                                                           \
        k = kp[b] ^ ((kp[b] ^ km[b]) & rsel);                                                  \
        lt |= eq & k & ~(cb);                                                                  \
        eq &= ~((cb) ^ k);
        PLANE(4, c4) PLANE(3, c3) PLANE(2, c2) PLANE(1, c1) PLANE(0, c0)
#undef PLANE
        const uint32_t word = ~lt ^ neg;
        out[p] = word & half;
        out[p + 1] = (word >> 16) & half;
    }
    return p;
}

/* Without the pre-allocation scheduler GCC keeps the Harley-Seal block in registers (it
 * otherwise hoists all sixteen loads and spills). */
__attribute__((optimize("no-schedule-insns")))
static int pw_equal_sliced(const uint32_t *in, int pixels, int cin, int w, const uint32_t *sign,
                           const uint32_t *nz, int32_t alpha, int cout,
                           const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                           int res_c, int res_stride, uint32_t *out, int32_t *scratch,
                           const uint32_t *prepared) {
    const int iw = TRIT_WORDS(cin), ow = TRIT_WORDS(cout);
    int nb = 1;
    while ((1 << nb) <= cin + 1) ++nb;
    if (nb < 5) nb = 5;
    if (nb > SLICED_BITS_MAX)
        return 0;
    const int tables = 2 * cin * ow + 2 * SLICED_BITS_MAX * ow; /* words of X and limits */
    if (!prepared && tables > TRIT_SCRATCH_INTS(cout))
        return 0;
    /* X: lane vectors [ow][cin][2]; limits: [ow][2][SLICED_BITS_MAX] (TRIT_PW_SLICED_WORDS) */
    const uint32_t *X = prepared ? prepared : (const uint32_t *)scratch;
    const uint32_t *limits = X + 2 * cin * ow;
    uint32_t *free_scratch = prepared ? (uint32_t *)scratch : (uint32_t *)scratch + tables;
    for (int g = 0; !prepared && g < ow; ++g) { /* derive them from the weights and thresholds */
        uint32_t *Xw = (uint32_t *)scratch, *lw = Xw + 2 * cin * ow;
        for (int j = 0; j < iw; ++j) {
            uint32_t tz[32], ts[32];
            for (int r = 0; r < 32; ++r) {
                const int o = g * 32 + r;
                tz[r] = o < cout ? nz[o * iw + j] : 0u;
                ts[r] = o < cout ? sign[o * iw + j] : 0u;
            }
            transpose32(tz);
            transpose32(ts);
            for (int r = 0; r < 32 && j * 32 + r < cin; ++r) {
                uint32_t *x = Xw + 2 * (g * cin + j * 32 + r);
                x[0] = tz[r] & ts[r];
                x[1] = tz[r] & ~ts[r];
            }
        }
        /* count limits + 1 as sliced constants: [0] residual +1 (or none), [1] residual -1 */
        uint32_t *kp = lw + g * 2 * SLICED_BITS_MAX, *km = kp + SLICED_BITS_MAX;
        uint32_t vp[32], vm[32]; /* limit + 1 per lane; transposed, row b is plane b */
        for (int r = 0; r < 32; ++r) vp[r] = vm[r] = 0;
        for (int o = g * 32; o < cout && o < g * 32 + 32; ++o) {
            int32_t lp, lm;
            channel_limits(thr, o, res_c, residual, alpha,
                           (int32_t)popcount_words(nz + o * iw, iw), &lp, &lm);
            vp[o & 31] = (uint32_t)(lp + 1);
            vm[o & 31] = (uint32_t)(lm + 1);
        }
        transpose32(vp);
        if (thr->has_residual) transpose32(vm);
        for (int b = 0; b < SLICED_BITS_MAX; ++b) {
            kp[b] = vp[b];
            km[b] = thr->has_residual ? vm[b] : vp[b];
        }
    }
    int done = 0;
    if (cin <= 16 && cout <= 16 &&
        (int)(free_scratch - (uint32_t *)scratch) + 4 * cin <= TRIT_SCRATCH_INTS(cout))
        done = sliced_pixel_pairs16(in, pixels, cin, w, cout, thr, residual, res_w, res_stride,
                                    out, X, limits, free_scratch);
    switch (nb) { /* the counter width as a constant: loops over planes unroll */
    case 5: sliced_pixels(in, pixels, cin, w, cout, thr, residual, res_w, res_c, res_stride, out, X, limits, 5, done); break;
    case 6: sliced_pixels(in, pixels, cin, w, cout, thr, residual, res_w, res_c, res_stride, out, X, limits, 6, done); break;
    case 7: sliced_pixels(in, pixels, cin, w, cout, thr, residual, res_w, res_c, res_stride, out, X, limits, 7, done); break;
    default: sliced_pixels(in, pixels, cin, w, cout, thr, residual, res_w, res_c, res_stride, out, X, limits, 8, done); break;
    }
    return 1;
}

/* Equal scales where the sliced tables do not fit the scratch (many more inputs than
 * outputs): one popcount chain per output channel and pixel. */
static void pw_equal_scales(const uint32_t *in, int pixels, int cin, int w, const uint32_t *sign,
                            const uint32_t *nz, int32_t alpha, int cout,
                            const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                            int res_c, int res_stride, uint32_t *out, int32_t *scratch) {
    const int iw = TRIT_WORDS(cin), ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    int32_t *lim_p = scratch, *lim_m = scratch + cout;
    for (int o = 0; o < cout; ++o)
        channel_limits(thr, o, res_c, residual, alpha, (int32_t)popcount_words(nz + o * iw, iw),
                       &lim_p[o], &lim_m[o]);
    const swar_masks_t m = swar_masks();
    for (int p = 0; p < pixels; ++p) {
        const uint32_t *a = in + p * iw;
        const uint32_t *r = 0;
        if (thr->has_residual && residual) {
            const int y = p / w, x = p - y * w;
            r = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
        }
        for (int g = 0; g < ow; ++g) {
            const int o0 = g * 32, o_end = o0 + 32 < cout ? o0 + 32 : cout;
            const uint32_t rword = (r && g < rw) ? r[g] : 0u;
            uint32_t word = 0; /* built from the last channel down: bit (o - o0) for o */
            for (int o = o_end - 1; o >= o0; --o) {
                const uint32_t *zo = nz + iw * o, *so = sign + iw * o;
                uint32_t cnt = 0;
                int j = 0;
                for (; j + 2 <= iw; j += 2)
                    cnt += popcount2(zo[j] & (a[j] ^ so[j]), zo[j + 1] & (a[j + 1] ^ so[j + 1]), m);
                if (j < iw) cnt += popcount1(zo[j] & (a[j] ^ so[j]), m);
                const int32_t k = ((rword >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                word = (word << 1) | ((uint32_t)(k - (int32_t)cnt) >> 31);
            }
            out[p * ow + g] = word ^ thr->negative[g];
        }
    }
}

static void pw_unequal_scales(const uint32_t *in, int pixels, int iw, int w,
                              const uint32_t *sign, const uint32_t *nz, trit_scales_t s,
                              int cout, const trit_threshold_t *thr, const uint32_t *residual,
                              int res_w, int res_c, int res_stride, uint32_t *out,
                              int32_t *scratch) {
    const int ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    int32_t *base = scratch, *acc = scratch + cout;
    const int32_t k_t = -2 * s.wp, k_u = 2 * (s.wp + s.wn);
    const swar_masks_t m = swar_masks();
    for (int o = 0; o < cout; ++o) {
        int32_t pos = 0, negs = 0;
        for (int j = 0; j < iw; ++j) {
            pos += (int32_t)byte_sum(nibble_counts(nz[o * iw + j] & ~sign[o * iw + j]), 0u);
            negs += (int32_t)byte_sum(nibble_counts(nz[o * iw + j] & sign[o * iw + j]), 0u);
        }
        base[o] = s.wp * pos - s.wn * negs;
    }
    for (int p = 0; p < pixels; ++p) {
        const uint32_t *a = in + p * iw;
        for (int o = 0; o < cout; ++o) {
            const uint32_t *zo = nz + iw * o, *so = sign + iw * o;
            uint32_t ct = 0, cu = 0;
            int j = 0;
            for (; j + 2 <= iw; j += 2) {
                const uint32_t t0 = zo[j] & a[j], t1 = zo[j + 1] & a[j + 1];
                ct += popcount2(t0, t1, m);
                cu += popcount2(t0 & so[j], t1 & so[j + 1], m);
            }
            if (j < iw) {
                const uint32_t t0 = zo[j] & a[j];
                ct += popcount1(t0, m);
                cu += popcount1(t0 & so[j], m);
            }
            acc[o] = base[o] + k_t * (int32_t)ct + k_u * (int32_t)cu;
        }
        const uint32_t *r = 0;
        if (residual) {
            const int y = p / w, x = p - y * w;
            r = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
        }
        trit_threshold_pack(acc, cout, thr, r, res_c, out + p * ow);
    }
}

void trit_pw_ternary_bin(const uint32_t *in, int h, int w, int cin, const uint32_t *sign,
                         const uint32_t *nz, trit_scales_t s, int cout,
                         const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                         int res_c, int res_stride, uint32_t *out, int32_t *scratch,
                         const uint32_t *sliced, const uint32_t *tables) {
    const int iw = TRIT_WORDS(cin);
    const int equal = s.wp == s.wn && s.wp > 0;
    /* the generator's nibble-table constants: the tables themselves, start values only, or
     * start values and byte tables */
    const uint32_t *starts = tables && (tables[0] == TRIT_NIBBLE_STARTS ||
                                        tables[0] == TRIT_BYTE_TABLES) ? tables + 1 : 0;
#ifdef LUT_RUN_ASM
    /* byte tables: the 24-channel assembly tile reads them where it applies, else the nibble
     * kernel builds its tables and takes the start values */
    if (starts && tables[0] == TRIT_BYTE_TABLES && equal && iw == 1 &&
        lut_tile24_bytes(in, h * w, w, (cin + 3) / 4, starts + 12, starts, starts + 6, thr,
                         residual, res_w, res_c, res_stride, cout, out))
        return;
#ifdef TRIT_WORD_TILES
    /* tables in whole-word tiles: the assembly tiles of 8 and 4 groups over them */
    if (tables && tables[0] == TRIT_NIBBLE_WORD_TILES && equal &&
        lut_word_tiles(in, h, w, cin, tables + 1, thr, residual, res_w, res_c, res_stride, cout,
                       out))
        return;
#endif
#endif
    tables = tables && tables[0] == TRIT_NIBBLE_TABLES ? tables + 1 : 0;
#if defined(__ARM_FEATURE_MVE) && defined(LUT_RUN_ASM)
    /* 21..24 channels over 21..24 inputs: the assembly tile of the nibble tables beats the
     * Helium sliced kernel (kernelbench pw 24->24 32x32 on mps3-an547: 112,844 against
     * 157,062 instructions) */
    const int lut24 = equal && (tables || h * w >= LUT_MIN_PIXELS) &&
                      lut_tile24_applies((cin + 3) / 4, cout, h * w, w,
                                         thr->has_residual && residual, res_w, res_c, res_stride);
#else
    const int lut24 = 0;
#endif
    /* constants made at code generation (where the generator expects the sliced kernel to
     * win: few pixels, or Helium) remove its per-call setup */
    if (equal && sliced && !lut24 &&
        pw_equal_sliced(in, h * w, cin, w, sign, nz, s.wp, cout, thr, residual, res_w, res_c,
                        res_stride, out, scratch, sliced))
        return;
#ifdef __ARM_FEATURE_MVE
    /* Helium: the sliced kernel runs four pixels per vector and beats the scalar tables on
     * maps of up to HELIUM_MAX_PIXELS pixels, where the tables' build is spread over few
     * pixels; on larger maps the assembly tiles of the tables win (kernelbench on mps3-an547,
     * see the README). With tables from the code generator (a layer run in bands, a few rows
     * per call) the tables win too. */
    const int sliced_first = equal && !lut24 && !tables && h * w <= HELIUM_MAX_PIXELS;
#else
    const int sliced_first = 0;
#endif
    if (sliced_first && pw_equal_sliced(in, h * w, cin, w, sign, nz, s.wp, cout, thr, residual,
                                        res_w, res_c, res_stride, out, scratch, 0))
        return;
    if (equal && pw_equal_lut(in, h, w, cin, sign, nz, s.wp, cout, thr, residual, res_w, res_c,
                              res_stride, out, scratch, tables, starts))
        return;
    /* where the tables do not fit: the sliced kernel (on Helium whatever the map), unless it
     * was tried first */
    if (equal && !sliced_first && pw_equal_sliced(in, h * w, cin, w, sign, nz, s.wp, cout, thr, residual, res_w,
                                 res_c, res_stride, out, scratch, 0))
        return;
    if (equal)
        pw_equal_scales(in, h * w, cin, w, sign, nz, s.wp, cout, thr, residual, res_w, res_c,
                        res_stride, out, scratch);
    else
        pw_unequal_scales(in, h * w, iw, w, sign, nz, s, cout, thr, residual, res_w, res_c,
                          res_stride, out, scratch);
}
