/* ARMv7E-M (Cortex-M4/M7) bit counting without the libgcc popcount call.
 *
 * nibble_counts(x): SWAR population count of x into eight 4-bit fields (each <= 4); the fields
 * of up to three words may be added before byte_sum() turns them into one count with USADA8.
 * Bit-sliced counters: bit b of plane p holds bit p of lane b's count (32 lanes per word). */
#ifndef TRIT_ARMV7EM_BITCOUNT_H
#define TRIT_ARMV7EM_BITCOUNT_H

#include "acle_dsp.h"
#include <stdint.h>

static inline uint32_t nibble_counts(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    return (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
}

/* Sum of the eight nibbles of y (each <= 15) added to acc. */
static inline uint32_t byte_sum(uint32_t y, uint32_t acc) {
    return __usada8((y & 0x0F0F0F0Fu) + ((y >> 4) & 0x0F0F0F0Fu), 0u, acc);
}

/* The SWAR masks, kept in registers: GCC then folds the shifts into the AND (Thumb-2
 * shifted-register operand) instead of materialising each shift. */
typedef struct {
    uint32_t m1, m2, m4, zero;
} swar_masks_t;

static inline swar_masks_t swar_masks(void) {
    swar_masks_t m = {0x55555555u, 0x33333333u, 0x0F0F0F0Fu, 0u};
    __asm__("" : "+r"(m.m1), "+r"(m.m2), "+r"(m.m4), "+r"(m.zero));
    return m;
}

/* popcount(x0) + popcount(x1) with the masks in registers (16 instructions). */
static inline uint32_t popcount2(uint32_t x0, uint32_t x1, swar_masks_t m) {
    x0 = x0 - ((x0 >> 1) & m.m1);
    x1 = x1 - ((x1 >> 1) & m.m1);
    const uint32_t y = (x0 & m.m2) + ((x0 >> 2) & m.m2) + (x1 & m.m2) + ((x1 >> 2) & m.m2);
    return __usada8((y & m.m4) + ((y >> 4) & m.m4), m.zero, 0u);
}

/* popcount(x) with the masks in registers (11 instructions). */
static inline uint32_t popcount1(uint32_t x, swar_masks_t m) {
    x = x - ((x >> 1) & m.m1);
    const uint32_t y = (x & m.m2) + ((x >> 2) & m.m2);
    return __usada8((y + (y >> 4)) & m.m4, m.zero, 0u);
}

/* Population count of n words (any n). */
static inline uint32_t popcount_words(const uint32_t *x, int n) {
    uint32_t acc = 0;
    int j = 0;
    for (; j + 2 <= n; j += 2) acc = byte_sum(nibble_counts(x[j]) + nibble_counts(x[j + 1]), acc);
    if (j < n) acc = byte_sum(nibble_counts(x[j]), acc);
    return acc;
}

/* One stage of the 32x32 transpose: swap the j-bit blocks of rows k and k + j. */
static inline __attribute__((always_inline)) void transpose_stage(uint32_t A[32], const int j,
                                                                   const uint32_t m) {
#pragma GCC unroll 16
    for (int q = 0; q < 16; ++q) {
        const int k = (q / j) * 2 * j + q % j;
        const uint32_t t = ((A[k] >> j) ^ A[k + j]) & m;
        A[k + j] ^= t;
        A[k] ^= t << j;
    }
}

/* In-place transpose of a 32x32 bit matrix: bit c of A[r] <-> bit r of A[c]. */
static inline void transpose32(uint32_t A[32]) {
    transpose_stage(A, 16, 0x0000FFFFu);
    transpose_stage(A, 8, 0x00FF00FFu);
    transpose_stage(A, 4, 0x0F0F0F0Fu);
    transpose_stage(A, 2, 0x33333333u);
    transpose_stage(A, 1, 0x55555555u);
}

/* Full adder on 32 lanes: a + b + c = s + 2 * carry. Works on uint32_t words and on GCC
 * vector types (Helium's uint32x4_t: four words). */
#define FULL_ADD(s, carry, a, b, c)                                                            \
    do {                                                                                       \
        const __typeof__((a) ^ (b)) t_ = (a) ^ (b);                                            \
        (s) = t_ ^ (c);                                                                        \
        (carry) = ((a) & (b)) | (t_ & (c));                                                    \
    } while (0)

/* Lanes where the 4-bit sliced count c is >= the 4-bit sliced constant k (uint32_t words k);
 * c words or GCC vectors of words, like `out`. */
#define SLICED_GE4(out, c, k)                                                                  \
    do {                                                                                       \
        __typeof__((c)[0] ^ (c)[0]) lt_ = (k)[3] & ~(c)[3], eq_ = ~((c)[3] ^ (k)[3]);          \
        lt_ |= eq_ & (k)[2] & ~(c)[2];                                                         \
        eq_ &= ~((c)[2] ^ (k)[2]);                                                             \
        lt_ |= eq_ & (k)[1] & ~(c)[1];                                                         \
        eq_ &= ~((c)[1] ^ (k)[1]);                                                             \
        lt_ |= eq_ & (k)[0] & ~(c)[0];                                                         \
        (out) = ~lt_;                                                                          \
    } while (0)

static inline uint32_t sliced_ge4(const uint32_t c[4], const uint32_t k[4]) {
    uint32_t ge;
    SLICED_GE4(ge, c, k);
    return ge;
}

/* Lane l's value of a 4-bit sliced counter. */
static inline int sliced_lane4(const uint32_t c[4], int l) {
    return (int)(((c[0] >> l) & 1u) | (((c[1] >> l) & 1u) << 1) | (((c[2] >> l) & 1u) << 2) |
                 (((c[3] >> l) & 1u) << 3));
}

/* floor(a / b) and ceil(a / b) for b > 0 (32-bit: SDIV, no library call). */
static inline int32_t floor_div(int32_t a, int32_t b) {
    const int32_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static inline int32_t ceil_div(int32_t a, int32_t b) {
    const int32_t q = a / b;
    return (a % b != 0 && a > 0) ? q + 1 : q;
}

/* Quotients beyond this bound decide a comparison with any count (counts stay below 2^16). */
#define COUNT_BOUND (1 << 20)

static inline int32_t clamp_count(int32_t v) {
    return v > COUNT_BOUND ? COUNT_BOUND : v < -COUNT_BOUND ? -COUNT_BOUND : v;
}

/* For a layer with equal scales alpha = wp = wn > 0 and a count n of non-zero weights:
 * acc = alpha * (n - 2 * cnt) with cnt the number of -1 products. Returns K such that the
 * output is -1 exactly when (cnt > K) XOR negative, for threshold t and direction negative. */
static inline int32_t count_limit(int32_t t, int negative, int32_t alpha, int32_t n) {
    int32_t k;
    if (!negative) { /* +1 iff alpha (n - 2 cnt) >= t  iff  cnt <= floor((n - ceil(t/alpha)) / 2) */
        k = floor_div(n - clamp_count(ceil_div(t, alpha)), 2);
    } else {         /* +1 iff alpha (n - 2 cnt) <= t  iff  cnt >= ceil((n - floor(t/alpha)) / 2) */
        k = ceil_div(n - clamp_count(floor_div(t, alpha)), 2) - 1;
    }
    if (k < -1) k = -1;
    if (k > n) k = n;
    return k;
}

#endif
