/* ARMv7E-M flavour: the sign of an int8 tensor packed as a binary one (IR v3 `sign`).
 * Four values per word: their sign bits (bit 7 of each byte) moved to bits 0, 8, 16, 24 and
 * gathered into four adjacent bits by one multiply (no two partial products share a bit
 * position below bit 32, so nothing carries). */
#include <string.h>

#include "trit/kernels.h"

/* Bits 0..3 = the sign bits of bytes 0..3 of v. */
static inline uint32_t signs4(uint32_t v) {
    return (((v >> 7) & 0x01010101u) * 0x00204081u) >> 21 & 0xFu;
}

void trit_sign_pack_s8(const int8_t *in, int pixels, int c, uint32_t *out) {
    const int nw = TRIT_WORDS(c);
    if (c % 4 != 0) {
        for (int p = 0; p < pixels; ++p) {
            uint32_t *o = out + p * nw;
            for (int j = 0; j < nw; ++j) o[j] = 0;
            for (int ch = 0; ch < c; ++ch)
                if (in[p * c + ch] < 0) o[ch / 32] |= 1u << (ch % 32);
        }
        return;
    }
    for (int p = 0; p < pixels; ++p) {
        const int8_t *x = in + p * c;
        uint32_t *o = out + p * nw;
        for (int j = 0; j < nw; ++j) {
            const int n = c - 32 * j < 32 ? c - 32 * j : 32;
            uint32_t bits = 0;
            for (int i = 0; i < n; i += 4) {
                uint32_t v;
                memcpy(&v, x + 32 * j + i, 4);
                bits |= signs4(v) << i;
            }
            o[j] = bits;
        }
    }
}
