/* The ACLE DSP intrinsics the ARMv7E-M kernels use: __smlad, __sxtb16, __usada8, __smlabb,
 * __smlatt, __uxtab16, __ssat, __usat.
 *
 * GCC's <arm_acle.h> provides them from GCC 10 on. Older toolchains (some PlatformIO platforms
 * still ship GCC 7-9) get single-instruction inline-assembly versions with the same
 * semantics; -DTRIT_ACLE_ASM selects those on any compiler (tested). */
#ifndef TRIT_ACLE_DSP_H
#define TRIT_ACLE_DSP_H

#include <stdint.h>

#if !defined(__ARM_FEATURE_DSP)
#error "the armv7em kernel flavour needs the DSP extension (Cortex-M4/M7/M33/M55)"
#endif

#if defined(TRIT_ACLE_ASM) || (defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 10)

/* sum + lo16(a) * lo16(b) + hi16(a) * hi16(b), signed halves */
static inline int32_t trit_smlad(uint32_t a, uint32_t b, int32_t sum) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(sum));
    return r;
}

/* bytes 0 and 2 sign-extended to two halfwords */
static inline uint32_t trit_sxtb16(uint32_t x) {
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}

/* acc + sum of |a.byte[i] - b.byte[i]| over the four unsigned bytes */
static inline uint32_t trit_usada8(uint32_t a, uint32_t b, uint32_t acc) {
    uint32_t r;
    __asm__("usada8 %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* sum + lo16(a) * lo16(b), and sum + hi16(a) * hi16(b), signed halves */
static inline int32_t trit_smlabb(uint32_t a, uint32_t b, int32_t sum) {
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(sum));
    return r;
}

static inline int32_t trit_smlatt(uint32_t a, uint32_t b, int32_t sum) {
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(sum));
    return r;
}

/* two halfwords: acc.lo + byte 0 of x, acc.hi + byte 2 of x (unsigned bytes, modulo 2^16) */
static inline uint32_t trit_uxtab16(uint32_t acc, uint32_t x) {
    uint32_t r;
    __asm__("uxtab16 %0, %1, %2" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

#define __smlad(a, b, sum) trit_smlad((a), (b), (sum))
#define __uxtab16(acc, x) trit_uxtab16((acc), (x))
#define __smlabb(a, b, sum) trit_smlabb((a), (b), (sum))
#define __smlatt(a, b, sum) trit_smlatt((a), (b), (sum))
#define __sxtb16(x) trit_sxtb16(x)
#define __usada8(a, b, acc) trit_usada8((a), (b), (acc))
/* saturate to a signed `bits`-bit / unsigned `bits`-bit range (bits a constant) */
#define __ssat(x, bits)                                                                        \
    __extension__({                                                                            \
        int32_t r_;                                                                            \
        __asm__("ssat %0, %1, %2" : "=r"(r_) : "I"(bits), "r"((int32_t)(x)));                 \
        r_;                                                                                    \
    })
#define __usat(x, bits)                                                                        \
    __extension__({                                                                            \
        uint32_t r_;                                                                           \
        __asm__("usat %0, %1, %2" : "=r"(r_) : "I"(bits), "r"((int32_t)(x)));                 \
        r_;                                                                                    \
    })

#else
#include <arm_acle.h>
#endif

#include <string.h>

/* A word from any byte address (unaligned loads are allowed on ARMv7-M and later). */
static inline uint32_t trit_load_u32(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* UXTAB16 of x rotated right by 8: acc.lo + byte 1 of x, acc.hi + byte 3 of x. */
static inline uint32_t trit_uxtab16_ror8(uint32_t acc, uint32_t x) {
    uint32_t r;
    __asm__("uxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

/* SXTB16 of x rotated right by 8: bytes 1 and 3 sign-extended to halfwords. */
static inline uint32_t trit_sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

#endif
