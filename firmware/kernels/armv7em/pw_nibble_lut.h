/* ARMv7E-M pointwise ternary x binary with equal scales, by nibble tables (cin <= 127).
 * Included by pw_ternary_bin.c (uses its channel_limits).
 *
 * Output channels go in tiles of 4 G (G = 4, 2 or 1): G words of four 8-bit counters, byte j
 * of word g counting for channel o0 + 4 g + j. Inputs go in nibbles: nibble q holds input
 * channels 4 q .. 4 q + 3 (bits 4 (q % 8) .. of activation word q / 8). For each nibble q and
 * each of its 16 activation values v the table row T[q][v][0..G-1] holds the tile's counts
 * cnt = popcount(nz & (v ^ s)) over those four inputs (products equal to -1), so a pixel's
 * counts are the sum of Q = ceil(cin / 4) rows, four channels per add.
 *
 * The counters start at 0x80 - L, L = count limit + 1 in [0, 128] (channel_limits), and stay
 * in [0, 255]: bit 7 of a byte is set iff cnt >= L, i.e. iff the output is -1 before the
 * direction bit. A multiply gathers the four bit-7s of a word into four adjacent bits. With a
 * residual the limit of channel o depends on the residual bit: the counters are compared
 * against both limits (one add of the difference) and the residual bits pick per channel.
 *
 * Tables: Q x 16 x G words in the scratch, built once per call and tile: per nibble and group
 * of four channels, the counts for v = 0 (the -1 weights) and four byte-wise deltas (one per
 * input: +1 for a +1 weight, -1 for a -1 weight), then 15 adds. */

#define LUT_GATHER 0x00204081u /* bits 7, 15, 23, 31 of (x & 0x80808080) -> bits 28..31 */
#define LUT_BYTE_LSB 0x01010101u

/* Four channels' compare bits (bit j = byte j >= 0x80), in bits 0..3; lut_bits8: eight
 * channels from two words (x in bits 0..3, y in 4..7): y's bit-7s stay, x's move 4 down, and
 * one multiply by LUT_GATHER brings both sets to bits 24..31 without collisions (the partial
 * products land at distinct bits). GCC would expand the multiply into two shifted adds: one
 * MUL is one instruction. */
static inline uint32_t lut_gather(uint32_t y) {
#if defined(__GNUC__) && defined(__thumb2__)
    __asm__("mul %0, %0, %1" : "+r"(y) : "r"(LUT_GATHER));
#else
    y *= LUT_GATHER;
#endif
    return y;
}

static inline uint32_t lut_bits(uint32_t x) { return lut_gather(x & 0x80808080u) >> 28; }

static inline uint32_t lut_bits8(uint32_t x, uint32_t y) {
    return lut_gather((y & 0x80808080u) | ((x & 0x80808080u) >> 4)) >> 24;
}

/* 4 x 4 byte transpose: byte b of out[k] = byte k of w[b]. */
static inline void lut_transpose_bytes(const uint32_t w[4], uint32_t out[4]) {
    const uint32_t m = 0x00FF00FFu;
    const uint32_t a = (w[0] & m) | (w[1] & m) << 8;        /* bytes 0, 2 of w0, w1 */
    const uint32_t b = ((w[0] >> 8) & m) | (w[1] & ~m);     /* bytes 1, 3 */
    const uint32_t c = (w[2] & m) | (w[3] & m) << 8;
    const uint32_t d = ((w[2] >> 8) & m) | (w[3] & ~m);
    out[0] = (a & 0xFFFFu) | c << 16;
    out[1] = (b & 0xFFFFu) | d << 16;
    out[2] = a >> 16 | (c & 0xFFFF0000u);
    out[3] = b >> 16 | (d & 0xFFFF0000u);
}

/* Byte-wise deltas of the four inputs of nibble r of a group (PB / NB from
 * lut_transpose_bytes of its +1 / -1 weight planes): +1 where the weight is +1, -1 where it is
 * -1 (the change of the -1 count when that input goes from +1 to -1). */
#define LUT_DELTAS(d, PB, NB, r)                                                               \
    do {                                                                                       \
        const uint32_t mp_ = ((PB)[(r) >> 1] >> (4 * ((r) & 1))) & 0x0F0F0F0Fu;                \
        const uint32_t mn_ = ((NB)[(r) >> 1] >> (4 * ((r) & 1))) & 0x0F0F0F0Fu;                \
        (d)[0] = (mp_ & LUT_BYTE_LSB) - (mn_ & LUT_BYTE_LSB);                                  \
        (d)[1] = ((mp_ >> 1) & LUT_BYTE_LSB) - ((mn_ >> 1) & LUT_BYTE_LSB);                    \
        (d)[2] = ((mp_ >> 2) & LUT_BYTE_LSB) - ((mn_ >> 2) & LUT_BYTE_LSB);                    \
        (d)[3] = ((mp_ >> 3) & LUT_BYTE_LSB) - ((mn_ >> 3) & LUT_BYTE_LSB);                    \
    } while (0)

/* +1 and -1 weight planes of channels ob .. ob + 3 (zero past cout), input word j, byte-
 * transposed: byte b of PB[k] = byte k of channel ob + b's word (its nibbles 2k and 2k + 1). */
static inline __attribute__((always_inline)) void lut_planes(const uint32_t *sign,
                                                             const uint32_t *nz, int iw, int ob,
                                                             int cout, int j, uint32_t PB[4],
                                                             uint32_t NB[4]) {
    uint32_t P[4], N[4];
    for (int b = 0; b < 4; ++b) {
        const int o = ob + b;
        const uint32_t z = o < cout ? nz[o * iw + j] : 0u;
        const uint32_t s = o < cout ? sign[o * iw + j] : 0u;
        P[b] = z & ~s;
        N[b] = z & s;
    }
    lut_transpose_bytes(P, PB);
    lut_transpose_bytes(N, NB);
}

/* Two adjacent words at e + off bytes. */
#define LUT_STORE2(e, off, a, b)                                                               \
    do {                                                                                       \
        (e)[(off) / 4] = (a);                                                                  \
        (e)[(off) / 4 + 1] = (b);                                                              \
    } while (0)

/* Rows of one tile: T[q][v][g] for q < Q, v < 16, g < G (channels past cout count 0). Row v
 * of a group is the sum of the deltas of v's bits (row 0 is 0: the count at v = 0, the number
 * of -1 weights, is in the counters' start value). G is a constant where inlined; for G >= 2
 * two groups go together, their words adjacent in every row. */
static inline __attribute__((always_inline)) void lut_build(uint32_t *T, int Q, const int G,
                                                            const uint32_t *sign,
                                                            const uint32_t *nz, int iw, int o0,
                                                            int cout) {
    for (int g = 0; g < G; g += G >= 2 ? 2 : 1) {
        for (int j = 0; j < iw; ++j) {
            uint32_t PA[4], NA[4], PB[4], NB[4];
            lut_planes(sign, nz, iw, o0 + 4 * g, cout, j, PA, NA);
            if (G >= 2) lut_planes(sign, nz, iw, o0 + 4 * g + 4, cout, j, PB, NB);
            const int nr = Q - 8 * j < 8 ? Q - 8 * j : 8;
#pragma GCC unroll 8
            for (int r = 0; r < 8; ++r) {
                if (r >= nr) break;
                uint32_t *e = T + (8 * j + r) * 16 * G + g;
                uint32_t a[4], c[4];
                LUT_DELTAS(a, PA, NA, r);
                if (G >= 2) {
                    LUT_DELTAS(c, PB, NB, r);
                    const uint32_t a3 = a[0] + a[1], c3 = c[0] + c[1];
                    const uint32_t a5 = a[0] + a[2], c5 = c[0] + c[2];
                    const uint32_t a6 = a[1] + a[2], c6 = c[1] + c[2];
                    const uint32_t a7 = a3 + a[2], c7 = c3 + c[2];
#define LUT_ROW_PAIR(v, x, y) LUT_STORE2(e, (v) * 4 * G, x, y)
                    LUT_ROW_PAIR(0, 0u, 0u);
                    LUT_ROW_PAIR(1, a[0], c[0]);
                    LUT_ROW_PAIR(2, a[1], c[1]);
                    LUT_ROW_PAIR(3, a3, c3);
                    LUT_ROW_PAIR(4, a[2], c[2]);
                    LUT_ROW_PAIR(5, a5, c5);
                    LUT_ROW_PAIR(6, a6, c6);
                    LUT_ROW_PAIR(7, a7, c7);
                    LUT_ROW_PAIR(8, a[3], c[3]);
                    LUT_ROW_PAIR(9, a[0] + a[3], c[0] + c[3]);
                    LUT_ROW_PAIR(10, a[1] + a[3], c[1] + c[3]);
                    LUT_ROW_PAIR(11, a3 + a[3], c3 + c[3]);
                    LUT_ROW_PAIR(12, a[2] + a[3], c[2] + c[3]);
                    LUT_ROW_PAIR(13, a5 + a[3], c5 + c[3]);
                    LUT_ROW_PAIR(14, a6 + a[3], c6 + c[3]);
                    LUT_ROW_PAIR(15, a7 + a[3], c7 + c[3]);
#undef LUT_ROW_PAIR
                } else {
                    const uint32_t a3 = a[0] + a[1], a5 = a[0] + a[2], a6 = a[1] + a[2];
                    const uint32_t a7 = a3 + a[2];
                    e[0] = 0u; e[1] = a[0]; e[2] = a[1]; e[3] = a3;
                    e[4] = a[2]; e[5] = a5; e[6] = a6; e[7] = a7;
                    e[8] = a[3]; e[9] = a[0] + a[3]; e[10] = a[1] + a[3]; e[11] = a3 + a[3];
                    e[12] = a[2] + a[3]; e[13] = a5 + a[3]; e[14] = a6 + a[3]; e[15] = a7 + a[3];
                }
            }
        }
    }
}

/* One table row added into the accumulators: nibble r of activation word v selects row
 * v_r of the table at base + r * 64 G bytes. The row offset v_r * 4 G is one AND of the
 * shifted word with a mask; the G words come with LDRD. In assembly: GCC otherwise splits
 * the address arithmetic and spills the accumulators. Shift texts per G (mask 0xF0, 0x78,
 * 0x3C: v_r << 4, << 3, << 2 from bit 4 r). */
#define LUT_SH4_0 ", lsl #4"
#define LUT_SH4_1 ""
#define LUT_SH4_2 ", lsr #4"
#define LUT_SH4_3 ", lsr #8"
#define LUT_SH4_4 ", lsr #12"
#define LUT_SH4_5 ", lsr #16"
#define LUT_SH4_6 ", lsr #20"
#define LUT_SH4_7 ", lsr #24"
#define LUT_SH2_0 ", lsl #3"
#define LUT_SH2_1 ", lsr #1"
#define LUT_SH2_2 ", lsr #5"
#define LUT_SH2_3 ", lsr #9"
#define LUT_SH2_4 ", lsr #13"
#define LUT_SH2_5 ", lsr #17"
#define LUT_SH2_6 ", lsr #21"
#define LUT_SH2_7 ", lsr #25"
#define LUT_SH1_0 ", lsl #2"
#define LUT_SH1_1 ", lsr #2"
#define LUT_SH1_2 ", lsr #6"
#define LUT_SH1_3 ", lsr #10"
#define LUT_SH1_4 ", lsr #14"
#define LUT_SH1_5 ", lsr #18"
#define LUT_SH1_6 ", lsr #22"
#define LUT_SH1_7 ", lsr #26"

#if defined(__GNUC__) && defined(__thumb2__)
/* Two words of the row at p + off added into accumulators a and b (assembly text). */
#define LUT_ADD2(off, a, b)                                                                    \
    "ldrd %[x], %[y], [%[p], #" off "]\n\t"                                                    \
    "add %[" a "], %[" a "], %[x]\n\t"                                                         \
    "add %[" b "], %[" b "], %[y]\n\t"
#define LUT_TEMPS [p] "=&r"(p_), [x] "=&r"(x_), [y] "=&r"(y_)
#define LUT_ACC4 [c0] "+r"(c0), [c1] "+r"(c1), [c2] "+r"(c2), [c3] "+r"(c3)
#define LUT_ACC8 LUT_ACC4, [c4] "+r"(c4), [c5] "+r"(c5), [c6] "+r"(c6), [c7] "+r"(c7)
/* G = 4: rows 256 B apart; nibbles 4..7 from base + 1024 (LDRD offsets reach 1020) */
#define LUT_ROW4(r, base, off)                                                                 \
    __asm__("and %[p], %[m], %[v]" LUT_SH4_##r "\n\t"                                          \
            "add %[p], %[p], %[t]\n\t"                                                         \
            LUT_ADD2(#off, "c0", "c1") LUT_ADD2(#off "+8", "c2", "c3")                         \
            : LUT_ACC4, LUT_TEMPS                                                              \
            : [m] "r"(0xF0u), [v] "r"(v), [t] "r"(base)                                        \
            : "memory")
/* G = 8: rows 512 B apart, v_r * 32 from UBFX and a shifted add (no mask register: the 8
 * accumulators take most of them); two rows per base, bases 1024 B apart */
#define LUT_ROW8(r, base, off)                                                                 \
    __asm__("ubfx %[p], %[v], #" #r "*4, #4\n\t"                                               \
            "add %[p], %[t], %[p], lsl #5\n\t"                                                 \
            LUT_ADD2(#off, "c0", "c1") LUT_ADD2(#off "+8", "c2", "c3")                         \
            LUT_ADD2(#off "+16", "c4", "c5") LUT_ADD2(#off "+24", "c6", "c7")                  \
            : LUT_ACC8, LUT_TEMPS                                                              \
            : [v] "r"(v), [t] "r"(base)                                                        \
            : "memory")
/* G = 6: rows 384 B apart (v_r * 24 = v_r * 8 * 3); bases t, t + 1152 and t + 2304 */
#define LUT_ROW6(r, base, off)                                                                 \
    __asm__("and %[p], %[m], %[v]" LUT_SH2_##r "\n\t"                                          \
            "add %[p], %[p], %[p], lsl #1\n\t"                                                 \
            "add %[p], %[p], %[t]\n\t"                                                         \
            LUT_ADD2(#off, "c0", "c1") LUT_ADD2(#off "+8", "c2", "c3")                         \
            LUT_ADD2(#off "+16", "c4", "c5")                                                   \
            : LUT_ACC4, [c4] "+r"(c4), [c5] "+r"(c5), LUT_TEMPS                                \
            : [m] "r"(0x78u), [v] "r"(v), [t] "r"(base)                                        \
            : "memory")
#define LUT_ROW2(r, base, off)                                                                 \
    __asm__("and %[p], %[m], %[v]" LUT_SH2_##r "\n\t"                                          \
            "add %[p], %[p], %[t]\n\t"                                                         \
            LUT_ADD2(#off, "c0", "c1")                                                         \
            : [c0] "+r"(c0), [c1] "+r"(c1), LUT_TEMPS                                          \
            : [m] "r"(0x78u), [v] "r"(v), [t] "r"(base)                                        \
            : "memory")
#define LUT_ROW1(r, base, off)                                                                 \
    __asm__("and %[p], %[m], %[v]" LUT_SH1_##r "\n\t"                                          \
            "ldr %[x], [%[t], %[p]]\n\t"                                                       \
            "add %[c0], %[c0], %[x]"                                                           \
            : [c0] "+r"(c0), [p] "=&r"(p_), [x] "=&r"(x_)                                      \
            : [m] "r"(0x3Cu), [v] "r"(v), [t] "r"((const char *)(base) + (off))                \
            : "memory")
#else
#define LUT_ROW_C(r, base, off, G)                                                             \
    {                                                                                          \
        const uint32_t *e_ = (const uint32_t *)((const char *)(base) + (off)) +                \
                             ((v >> (4 * (r))) & 15u) * (G);                                   \
        c0 += e_[0];                                                                           \
        if ((G) > 1) c1 += e_[1];                                                              \
        if ((G) > 2) { c2 += e_[2]; c3 += e_[3]; }                                             \
        if ((G) > 4) { c4 += e_[4]; c5 += e_[5]; }                                             \
        if ((G) > 6) { c6 += e_[6]; c7 += e_[7]; }                                             \
    }
#define LUT_ROW8(r, base, off) LUT_ROW_C(r, base, off, 8)
#define LUT_ROW6(r, base, off) LUT_ROW_C(r, base, off, 6)
#define LUT_ROW4(r, base, off) LUT_ROW_C(r, base, off, 4)
#define LUT_ROW2(r, base, off) LUT_ROW_C(r, base, off, 2)
#define LUT_ROW1(r, base, off) LUT_ROW_C(r, base, off, 1)
#endif

/* Nibble r of v through the table of G words per row, t = the word's first row (bases a
 * multiple of 1024 or 1152 B further where the LDRD offsets would pass 1020). */
#define LUT_ROW(r)                                                                             \
    do {                                                                                       \
        if (G == 8) {                                                                          \
            LUT_ROW8(r, t + ((r) >> 1) * 1024, ((r) & 1) * 512);                               \
        } else if (G == 6) {                                                                   \
            LUT_ROW6(r, t + ((r) / 3) * 1152, ((r) - (r) / 3 * 3) * 384);                      \
        } else if (G == 4) {                                                                   \
            LUT_ROW4(r, t + ((r) >> 2) * 1024, ((r) & 3) * 256);                               \
        } else if (G == 2) {                                                                   \
            LUT_ROW2(r, t, (r) * 128);                                                         \
        } else {                                                                               \
            LUT_ROW1(r, t, (r) * 64);                                                          \
        }                                                                                      \
    } while (0)

#if defined(__GNUC__) && defined(__thumb2__)
#define LUT_RUN_ASM 1
/* The tile of 24 channels (G = 6, the whole output word) over 21..24 inputs (Q = 6, one
 * activation word) in Thumb-2 assembly, one pixel per pass with every value in a register
 * (GCC's code for lut_tile spills): about 105 instructions a pixel, 135 with a residual.
 * Context ctx (LUT_RUN_WORDS words): the table T, the counters' start values cp[6] and
 * residual differences cd[6], the masks 0x80808080 and LUT_GATHER, the direction bits, the
 * lane mask, then byte offsets from the next input pixel to the current output pixel and to
 * the current residual pixel, and the end of the input. */
#define LUT_RUN_WORDS 21
/* nibble r of v: its row (T + r * 384 + v_r * 24, t = T + 1152 from nibble 3) into c0..c5 */
#define LUT_RUN_ROW(r, off)                                                                    \
    "ubfx %[p], %[v], #" #r "*4, #4\n\t"                                                       \
    "add %[p], %[p], %[p], lsl #1\n\t"                                                         \
    "add %[p], %[t], %[p], lsl #3\n\t"                                                         \
    "ldrd %[x], %[y], [%[p], #" off "]\n\t"                                                    \
    "add %[c0], %[c0], %[x]\n\t"                                                               \
    "add %[c1], %[c1], %[y]\n\t"                                                               \
    "ldrd %[x], %[y], [%[p], #" off "+8]\n\t"                                                  \
    "add %[c2], %[c2], %[x]\n\t"                                                               \
    "add %[c3], %[c3], %[y]\n\t"                                                               \
    "ldrd %[x], %[y], [%[p], #" off "+16]\n\t"                                                 \
    "add %[c4], %[c4], %[x]\n\t"                                                               \
    "add %[c5], %[c5], %[y]\n\t"
/* the 24 compare bits of c0..c5 into D (t = 0x80808080, v = LUT_GATHER; lut_bits8) */
#define LUT_RUN_BITS8(D, lo, hi, SHIFT_OR)                                                     \
    "and %[x], %[" hi "], %[t]\n\t"                                                            \
    "and %[y], %[" lo "], %[t]\n\t"                                                            \
    "orr %[x], %[x], %[y], lsr #4\n\t"                                                         \
    "mul %[x], %[x], %[v]\n\t" SHIFT_OR
#define LUT_RUN_BITS(D)                                                                        \
    LUT_RUN_BITS8(D, "c0", "c1", "lsr %[" D "], %[x], #24\n\t")                                \
    LUT_RUN_BITS8(D, "c2", "c3", "lsr %[x], %[x], #24\n\t"                                     \
                                 "orr %[" D "], %[" D "], %[x], lsl #8\n\t")                   \
    LUT_RUN_BITS8(D, "c4", "c5", "lsr %[x], %[x], #24\n\t"                                     \
                                 "orr %[" D "], %[" D "], %[x], lsl #16\n\t")
#define LUT_RUN_COUNT                                                                          \
    "ldr %[v], [%[a]], #4\n\t"                                                                 \
    "ldr %[t], [%[ctx]]\n\t"                                                                   \
    "ldrd %[c0], %[c1], [%[ctx], #4]\n\t"                                                      \
    "ldrd %[c2], %[c3], [%[ctx], #12]\n\t"                                                     \
    "ldrd %[c4], %[c5], [%[ctx], #20]\n\t"                                                     \
    LUT_RUN_ROW(0, "0") LUT_RUN_ROW(1, "384") LUT_RUN_ROW(2, "768")                            \
    "add %[t], %[t], #1152\n\t"                                                                \
    LUT_RUN_ROW(3, "0") LUT_RUN_ROW(4, "384") LUT_RUN_ROW(5, "768")                            \
    "ldrd %[t], %[v], [%[ctx], #52]\n\t"                                                       \
    LUT_RUN_BITS("p")
/* residual: the bits with the counters moved by cd, chosen where the residual bit is 1 */
#define LUT_RUN_RESIDUAL                                                                       \
    "ldrd %[x], %[y], [%[ctx], #28]\n\t"                                                       \
    "add %[c0], %[c0], %[x]\n\t"                                                               \
    "add %[c1], %[c1], %[y]\n\t"                                                               \
    "ldrd %[x], %[y], [%[ctx], #36]\n\t"                                                       \
    "add %[c2], %[c2], %[x]\n\t"                                                               \
    "add %[c3], %[c3], %[y]\n\t"                                                               \
    "ldrd %[x], %[y], [%[ctx], #44]\n\t"                                                       \
    "add %[c4], %[c4], %[x]\n\t"                                                               \
    "add %[c5], %[c5], %[y]\n\t"                                                               \
    LUT_RUN_BITS("c0")                                                                         \
    "ldr %[x], [%[ctx], #76]\n\t"                                                              \
    "ldr %[x], [%[a], %[x]]\n\t"                                                               \
    "eor %[y], %[p], %[c0]\n\t"                                                                \
    "and %[y], %[y], %[x]\n\t"                                                                 \
    "eor %[p], %[p], %[y]\n\t"
/* With byte tables (TRIT_BYTE_TABLES of kernels.h, made at code generation; T: the start
 * values by residual bits, [6][16] words, then the rows [3][256][6] words from T + 384 B) the
 * same pass takes byte r of v (inputs 8 r .. 8 r + 7) per row: three rows of twelve
 * instructions instead of six, about 70 instructions a pixel. With a residual each counter
 * starts at its group's start values for the residual's four bits (a UBFX, an address add and
 * a load), so no second compare and select: about 85. */
#define LUT_BYTE_ROW(ROR)                                                                      \
    "uxtb %[p], %[v]" ROR "\n\t"                                                               \
    "add %[p], %[p], %[p], lsl #1\n\t"                                                         \
    "add %[p], %[t], %[p], lsl #3\n\t"                                                         \
    "ldrd %[x], %[y], [%[p], #384]\n\t"                                                        \
    "add %[c0], %[c0], %[x]\n\t"                                                               \
    "add %[c1], %[c1], %[y]\n\t"                                                               \
    "ldrd %[x], %[y], [%[p], #392]\n\t"                                                        \
    "add %[c2], %[c2], %[x]\n\t"                                                               \
    "add %[c3], %[c3], %[y]\n\t"                                                               \
    "ldrd %[x], %[y], [%[p], #400]\n\t"                                                        \
    "add %[c4], %[c4], %[x]\n\t"                                                               \
    "add %[c5], %[c5], %[y]\n\t"
#define LUT_BYTE_ROWS                                                                          \
    LUT_BYTE_ROW("")                                                                           \
    "add %[t], %[t], #6144\n\t"                                                                \
    LUT_BYTE_ROW(", ror #8")                                                                   \
    "add %[t], %[t], #6144\n\t"                                                                \
    LUT_BYTE_ROW(", ror #16")                                                                  \
    "ldrd %[t], %[v], [%[ctx], #52]\n\t"                                                       \
    LUT_RUN_BITS("p")
#define LUT_RUN_COUNT_BYTES                                                                    \
    "ldr %[v], [%[a]], #4\n\t"                                                                 \
    "ldr %[t], [%[ctx]]\n\t"                                                                   \
    "ldrd %[c0], %[c1], [%[ctx], #4]\n\t"                                                      \
    "ldrd %[c2], %[c3], [%[ctx], #12]\n\t"                                                     \
    "ldrd %[c4], %[c5], [%[ctx], #20]\n\t"                                                     \
    LUT_BYTE_ROWS
/* counter c of group g (residual bits 4 g .. 4 g + 3 in x): its start values from T */
#define LUT_RESIDUAL_START(c, lsb, off)                                                        \
    "ubfx %[y], %[x], #" lsb ", #4\n\t"                                                        \
    "add %[y], %[t], %[y], lsl #2\n\t"                                                         \
    "ldr %[" c "], [%[y], #" off "]\n\t"
#define LUT_RUN_COUNT_BYTES_RESIDUAL                                                           \
    "ldr %[v], [%[a]], #4\n\t"                                                                 \
    "ldr %[t], [%[ctx]]\n\t"                                                                   \
    "ldr %[x], [%[ctx], #76]\n\t"                                                              \
    "ldr %[x], [%[a], %[x]]\n\t"                                                               \
    LUT_RESIDUAL_START("c0", "0", "0") LUT_RESIDUAL_START("c1", "4", "64")                     \
    LUT_RESIDUAL_START("c2", "8", "128") LUT_RESIDUAL_START("c3", "12", "192")                 \
    LUT_RESIDUAL_START("c4", "16", "256") LUT_RESIDUAL_START("c5", "20", "320")                \
    LUT_BYTE_ROWS
#define LUT_RUN_FUNCTION(name, COUNT, RESIDUAL)                                                \
    static void name(const uint32_t *a, const uint32_t *ctx) {                                \
        uint32_t c0, c1, c2, c3, c4, c5, v, t, p, x, y;                                        \
        __asm__ volatile("1:\n\t" COUNT RESIDUAL                                               \
                         "ldrd %[x], %[y], [%[ctx], #64]\n\t"                                  \
                         "eor %[p], %[p], %[x]\n\t"                                            \
                         "and %[p], %[p], %[y]\n\t"                                            \
                         "ldr %[x], [%[ctx], #72]\n\t"                                         \
                         "str %[p], [%[a], %[x]]\n\t"                                          \
                         "ldr %[x], [%[ctx], #80]\n\t"                                         \
                         "cmp %[a], %[x]\n\t"                                                  \
                         "bne 1b\n\t"                                                          \
                         : [a] "+r"(a), [c0] "=&r"(c0), [c1] "=&r"(c1), [c2] "=&r"(c2),        \
                           [c3] "=&r"(c3), [c4] "=&r"(c4), [c5] "=&r"(c5), [v] "=&r"(v),       \
                           [t] "=&r"(t), [p] "=&r"(p), [x] "=&r"(x), [y] "=&r"(y)              \
                         : [ctx] "r"(ctx)                                                      \
                         : "cc", "memory");                                                    \
    }
LUT_RUN_FUNCTION(lut_run24, LUT_RUN_COUNT, "")
LUT_RUN_FUNCTION(lut_run24_residual, LUT_RUN_COUNT, LUT_RUN_RESIDUAL)
LUT_RUN_FUNCTION(lut_run24_bytes, LUT_RUN_COUNT_BYTES, "")
LUT_RUN_FUNCTION(lut_run24_bytes_residual, LUT_RUN_COUNT_BYTES_RESIDUAL, "")

/* Whether lut_tile24 takes a layer: Q = 6 nibbles of input (21..24 channels), 21..24 output
 * channels (one word in and out), a residual if any of the same layout as the input (with_res:
 * the thresholds have a residual column and one is passed). */
static inline int lut_tile24_applies(int Q, int cout, int pixels, int w, int with_res,
                                     int res_w, int res_c, int res_stride) {
    return Q == 6 && cout > 20 && cout <= 24 && pixels >= 1 &&
           !(with_res && (res_stride != 1 || res_w != w || TRIT_WORDS(res_c) != 1));
}

/* The context of lut_run24 and lut_run24_bytes (LUT_RUN_WORDS words) for a run over all
 * pixels: 1 with a residual, 0 without. */
static inline __attribute__((always_inline)) int lut_run24_context(
    uint32_t *ctx, const uint32_t *in, int pixels, const uint32_t *T, const uint32_t *cp,
    const uint32_t *cd, const trit_threshold_t *thr, const uint32_t *residual, int cout,
    uint32_t *out) {
    const int with_res = thr->has_residual && residual;
    ctx[0] = (uint32_t)(uintptr_t)T;
    for (int g = 0; g < 6; ++g) {
        ctx[1 + g] = cp[g];
        ctx[7 + g] = cd[g];
    }
    ctx[13] = 0x80808080u;
    ctx[14] = LUT_GATHER;
    const uint32_t lane_mask = (1u << cout) - 1u;
    ctx[16] = thr->negative[0] & lane_mask;
    ctx[17] = lane_mask;
    /* offsets from the input pointer after its post-increment */
    ctx[18] = (uint32_t)((uintptr_t)out - (uintptr_t)in - 4u);
    ctx[19] = with_res ? (uint32_t)((uintptr_t)residual - (uintptr_t)in - 4u) : 0u;
    ctx[20] = (uint32_t)(uintptr_t)(in + pixels);
    return with_res;
}

/* The 24-channel tile over all pixels through lut_run24 where it applies
 * (lut_tile24_applies): 1 done, 0 not. */
__attribute__((noinline)) static int lut_tile24(const uint32_t *in, int pixels, int w, int Q,
                                                const uint32_t *T, const uint32_t *cp,
                                                const uint32_t *cd, const trit_threshold_t *thr,
                                                const uint32_t *residual, int res_w, int res_c,
                                                int res_stride, int cout, uint32_t *out) {
    if (!lut_tile24_applies(Q, cout, pixels, w, thr->has_residual && residual, res_w, res_c,
                            res_stride))
        return 0;
    uint32_t ctx[LUT_RUN_WORDS];
    if (lut_run24_context(ctx, in, pixels, T, cp, cd, thr, residual, cout, out))
        lut_run24_residual(in, ctx);
    else
        lut_run24(in, ctx);
    return 1;
}

/* The same through byte tables B (the start values by residual bits, then the rows:
 * TRIT_BYTE_TABLES of kernels.h) with lut_run24_bytes: 1 done, 0 not. */
__attribute__((noinline)) static int lut_tile24_bytes(
    const uint32_t *in, int pixels, int w, int Q, const uint32_t *B, const uint32_t *cp,
    const uint32_t *cd, const trit_threshold_t *thr, const uint32_t *residual, int res_w,
    int res_c, int res_stride, int cout, uint32_t *out) {
    if (!lut_tile24_applies(Q, cout, pixels, w, thr->has_residual && residual, res_w, res_c,
                            res_stride))
        return 0;
    uint32_t ctx[LUT_RUN_WORDS];
    if (lut_run24_context(ctx, in, pixels, B, cp, cd, thr, residual, cout, out))
        lut_run24_bytes_residual(in, ctx);
    else
        lut_run24_bytes(in, ctx);
    return 1;
}

/* Tiles of 8 or 4 groups (32 or 16 channels, the whole or the low half of an output word) over
 * any number of inputs in Thumb-2 assembly, one pixel per pass: GCC's code for lut_tile spends
 * about 100 instructions a pixel and tile outside the table rows (spilled accumulators, the
 * counters' start values loaded one by one, the word loop's addresses); here a pass is its rows
 * (14 instructions per nibble for 8 groups, 8 for 4) plus about 40. Naked functions: r0..r7
 * the counters (r0..r3 for 4 groups), r8 the activation word, r9 the table base, r10 the row
 * address, r11/r12 loaded words, lr the input pointer; the context lives on the stack, read
 * sp-relative. Full input words run in a loop (rows of a word from one base moved by 2048 B
 * midway for 8 groups: LDRD offsets reach 1020 B); the last word's 1..7 remaining nibbles enter
 * an unrolled chain of rows at its row rem - 1, through a per-call jump address.
 *
 * Context (LUT_RUNG_WORDS words, byte offsets): 0 start values cp[8], 32 residual differences
 * cd[8], 64 0x80808080, 68 LUT_GATHER, 72 the table + LUT_RUNG_BIAS(G) (a word's rows are 512 G
 * bytes), 76 that + full words x 512 G, 80 and 84 jump addresses (filled in by the function),
 * 88 the direction bits, 92 the output pointer (this tile's word of the first pixel), 96 bytes
 * from one output pixel to the next, 100 the residual pointer, 104 its step, 108 the end of
 * the input, 112 the remaining nibbles rem (0..7), 116 8 + (full words > 0). */
#define LUT_RUNG_WORDS 30
#define LUT_RUNG_BIAS(G) ((G) == 8 ? 768 : 896)
/* nibble at bit lsb of r8: its row (r9 + off + v * 32) added into r0..r7 */
#define LUT8_ROW(lsb, off)                                                                     \
    "ubfx r10, r8, #" lsb ", #4\n\t"                                                           \
    "add r10, r9, r10, lsl #5\n\t"                                                             \
    "ldrd r11, r12, [r10, #" off "]\n\t"                                                       \
    "add r0, r0, r11\n\t"                                                                      \
    "add r1, r1, r12\n\t"                                                                      \
    "ldrd r11, r12, [r10, #" off "+8]\n\t"                                                     \
    "add r2, r2, r11\n\t"                                                                      \
    "add r3, r3, r12\n\t"                                                                      \
    "ldrd r11, r12, [r10, #" off "+16]\n\t"                                                    \
    "add r4, r4, r11\n\t"                                                                      \
    "add r5, r5, r12\n\t"                                                                      \
    "ldrd r11, r12, [r10, #" off "+24]\n\t"                                                    \
    "add r6, r6, r11\n\t"                                                                      \
    "add r7, r7, r12\n\t"
/* the same with rows of 4 words (r9 + off + v * 16) into r0..r3 */
#define LUT4_ROW(lsb, off)                                                                     \
    "ubfx r10, r8, #" lsb ", #4\n\t"                                                           \
    "add r10, r9, r10, lsl #4\n\t"                                                             \
    "ldrd r11, r12, [r10, #" off "]\n\t"                                                       \
    "add r0, r0, r11\n\t"                                                                      \
    "add r1, r1, r12\n\t"                                                                      \
    "ldrd r11, r12, [r10, #" off "+8]\n\t"                                                     \
    "add r2, r2, r11\n\t"                                                                      \
    "add r3, r3, r12\n\t"
/* compare bits of counters lo, hi (lut_bits8) in the top byte of r11; r8 = 0x80808080,
 * r9 = LUT_GATHER */
#define LUTG_PAIR(lo, hi)                                                                      \
    "and r11, " hi ", r8\n\t"                                                                  \
    "and r12, " lo ", r8\n\t"                                                                  \
    "orr r11, r11, r12, lsr #4\n\t"                                                            \
    "mul r11, r11, r9\n\t"
#define LUTG_BITS4(D)                                                                          \
    LUTG_PAIR("r0", "r1") "lsr " D ", r11, #24\n\t"                                            \
    LUTG_PAIR("r2", "r3") "lsr r11, r11, #24\n\t"                                              \
    "orr " D ", " D ", r11, lsl #8\n\t"
#define LUTG_BITS8(D)                                                                          \
    LUTG_BITS4(D)                                                                              \
    LUTG_PAIR("r4", "r5") "lsr r11, r11, #24\n\t"                                              \
    "orr " D ", " D ", r11, lsl #16\n\t"                                                       \
    LUTG_PAIR("r6", "r7") "and r11, r11, #0xFF000000\n\t"                                      \
    "orr " D ", " D ", r11\n\t"
#define LUTG_CD(off, a, b)                                                                     \
    "ldrd r11, r12, [sp, #" off "]\n\t"                                                        \
    "add " a ", " a ", r11\n\t"                                                                \
    "add " b ", " b ", r12\n\t"
/* residual: the bits (r10) with the counters moved by cd, taken where the residual bit is 1 */
#define LUTG_RESIDUAL(CD, BITS, RSHIFT)                                                        \
    CD BITS("r0")                                                                              \
    "ldrd r11, r12, [sp, #100]\n\t"                                                            \
    "ldr r1, [r11]\n\t" RSHIFT                                                                 \
    "add r11, r11, r12\n\t"                                                                    \
    "str r11, [sp, #100]\n\t"                                                                  \
    "eor r12, r10, r0\n\t"                                                                     \
    "and r12, r12, r1\n\t"                                                                     \
    "eor r10, r10, r12\n\t"
#define LUT8_RESIDUAL                                                                          \
    LUTG_RESIDUAL(LUTG_CD("32", "r0", "r1") LUTG_CD("40", "r2", "r3") LUTG_CD("48", "r4", "r5") \
                      LUTG_CD("56", "r6", "r7"),                                               \
                  LUTG_BITS8, "")
/* 4 groups in the low half of the output word, or (_HI) in its high half: the residual word's
 * bits 16..31 */
#define LUT4_RESIDUAL                                                                          \
    LUTG_RESIDUAL(LUTG_CD("32", "r0", "r1") LUTG_CD("40", "r2", "r3"), LUTG_BITS4, "")
#define LUT4_RESIDUAL_HI                                                                       \
    LUTG_RESIDUAL(LUTG_CD("32", "r0", "r1") LUTG_CD("40", "r2", "r3"), LUTG_BITS4,            \
                  "lsr r1, r1, #16\n\t")
/* the pixel's output word: written, or (_HI) its high half ORed into it */
#define LUTG_STORE "str r10, [r11]\n\t"
#define LUTG_STORE_HI                                                                          \
    "ldr r0, [r11]\n\t"                                                                        \
    "orr r0, r0, r10, lsl #16\n\t"                                                             \
    "str r0, [r11]\n\t"
/* entry stub of the chain for rem remaining nibbles: load the last word, go to row rem - 1 */
#define LUTG_STUB(P, k, prev, EXTRA)                                                           \
    P "_s" #k ":\n\t"                                                                          \
    "ldr r8, [lr], #4\n\t" EXTRA "b " P "_r" #prev "\n\t"
/* function prologue (copy the context, fill in the jump addresses) and pixel loop end */
#define LUTG_PROLOGUE(P)                                                                       \
    "push {r3, r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"                                      \
    "sub sp, sp, #120\n\t"                                                                     \
    "mov r12, sp\n\t"                                                                          \
    "ldmia r1!, {r2, r3, r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                                \
    "stmia r12!, {r2, r3, r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                               \
    "ldmia r1!, {r2, r3, r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                                \
    "stmia r12!, {r2, r3, r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                               \
    "ldmia r1!, {r2, r3, r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                                \
    "stmia r12!, {r2, r3, r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                               \
    "adr.w r3, " P "_tab\n\t"                                                                  \
    "ldr r2, [sp, #112]\n\t"                                                                   \
    "ldr r2, [r3, r2, lsl #2]\n\t"                                                             \
    "orr r2, r2, #1\n\t"                                                                       \
    "str r2, [sp, #84]\n\t"                                                                    \
    "ldr r2, [sp, #116]\n\t"                                                                   \
    "ldr r2, [r3, r2, lsl #2]\n\t"                                                             \
    "orr r2, r2, #1\n\t"                                                                       \
    "str r2, [sp, #80]\n\t"                                                                    \
    "mov lr, r0\n\t"
#define LUTG_EPILOGUE(P, BITS, RESIDUAL, STORE)                                                \
    P "_bits:\n\t"                                                                             \
    "ldrd r8, r9, [sp, #64]\n\t" BITS("r10") RESIDUAL                                          \
    "ldr r11, [sp, #88]\n\t"                                                                   \
    "eor r10, r10, r11\n\t"                                                                    \
    "ldrd r11, r12, [sp, #92]\n\t" STORE                                                       \
    "add r11, r11, r12\n\t"                                                                    \
    "str r11, [sp, #92]\n\t"                                                                   \
    "ldr r11, [sp, #108]\n\t"                                                                  \
    "cmp lr, r11\n\t"                                                                          \
    "bne " P "_pixel\n\t"                                                                      \
    "add sp, sp, #120\n\t"                                                                     \
    "pop {r3, r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"                                       \
    ".p2align 2\n" P "_tab:\n\t"                                                               \
    ".word " P "_bits, " P "_s1, " P "_s2, " P "_s3, " P "_s4, " P "_s5, " P "_s6, " P "_s7, " \
    P "_rem, " P "_word\n\t"
#define LUTG_CHECK_WORD(P)                                                                     \
    "ldr r11, [sp, #76]\n\t"                                                                   \
    "cmp r9, r11\n\t"                                                                          \
    "bne " P "_word\n\t" P "_rem:\n\t"                                                         \
    "ldr pc, [sp, #84]\n\t"
#define LUTG_ARG __attribute__((unused)) /* read by the assembly: r0, r1 */
/* A run function's head: the prologue, then per pixel the counters' start values (COUNTERS:
 * the registers LDM loads from the context) and the jump into the first input word or the chain
 * of remaining rows; the whole-word loop starts at P_word with the next activation word. */
#define LUTG_RUN_FUNCTION(name, P, COUNTERS, BODY)                                             \
    __attribute__((naked, noinline)) static void name(LUTG_ARG const uint32_t *a,             \
                                                      LUTG_ARG const uint32_t *ctx) {          \
        __asm__ volatile(LUTG_PROLOGUE(P) P "_pixel:\n\t"                                      \
                         "ldmia sp, {" COUNTERS "}\n\t"                                        \
                         "ldr r9, [sp, #72]\n\t"                                               \
                         "ldr pc, [sp, #80]\n\t" P "_word:\n\t"                                \
                         "ldr r8, [lr], #4\n\t" BODY);                                         \
    }
#define LUT8_RUN_FUNCTION(name, P, RESIDUAL)                                                   \
    LUTG_RUN_FUNCTION(name, P, "r0, r1, r2, r3, r4, r5, r6, r7",                               \
            LUT8_ROW("0", "-768") LUT8_ROW("4", "-256") LUT8_ROW("8", "256")                   \
            LUT8_ROW("12", "768")                                                              \
            "add r9, r9, #2048\n\t"                                                            \
            LUT8_ROW("16", "-768") LUT8_ROW("20", "-256") LUT8_ROW("24", "256")                \
            LUT8_ROW("28", "768")                                                              \
            "add r9, r9, #2048\n\t"                                                            \
            LUTG_CHECK_WORD(P)                                                                 \
            LUTG_STUB(P, 7, 6, "add r9, r9, #2048\n\t")                                        \
            LUTG_STUB(P, 6, 5, "add r9, r9, #2048\n\t")                                        \
            LUTG_STUB(P, 5, 4, "add r9, r9, #2048\n\t")                                        \
            LUTG_STUB(P, 4, 3, "") LUTG_STUB(P, 3, 2, "") LUTG_STUB(P, 2, 1, "")               \
            LUTG_STUB(P, 1, 0, "")                                                             \
            P "_r6:\n\t" LUT8_ROW("24", "256")                                                 \
            P "_r5:\n\t" LUT8_ROW("20", "-256")                                                \
            P "_r4:\n\t" LUT8_ROW("16", "-768")                                                \
            "sub r9, r9, #2048\n\t"                                                            \
            P "_r3:\n\t" LUT8_ROW("12", "768")                                                 \
            P "_r2:\n\t" LUT8_ROW("8", "256")                                                  \
            P "_r1:\n\t" LUT8_ROW("4", "-256")                                                 \
            P "_r0:\n\t" LUT8_ROW("0", "-768")                                                 \
            LUTG_EPILOGUE(P, LUTG_BITS8, RESIDUAL, LUTG_STORE))
#define LUT4_RUN_FUNCTION(name, P, RESIDUAL, STORE)                                            \
    LUTG_RUN_FUNCTION(name, P, "r0, r1, r2, r3",                                               \
            LUT4_ROW("0", "-896") LUT4_ROW("4", "-640") LUT4_ROW("8", "-384")                  \
            LUT4_ROW("12", "-128") LUT4_ROW("16", "128") LUT4_ROW("20", "384")                 \
            LUT4_ROW("24", "640") LUT4_ROW("28", "896")                                        \
            "add r9, r9, #2048\n\t"                                                            \
            LUTG_CHECK_WORD(P)                                                                 \
            LUTG_STUB(P, 7, 6, "") LUTG_STUB(P, 6, 5, "") LUTG_STUB(P, 5, 4, "")               \
            LUTG_STUB(P, 4, 3, "") LUTG_STUB(P, 3, 2, "") LUTG_STUB(P, 2, 1, "")               \
            LUTG_STUB(P, 1, 0, "")                                                             \
            P "_r6:\n\t" LUT4_ROW("24", "640")                                                 \
            P "_r5:\n\t" LUT4_ROW("20", "384")                                                 \
            P "_r4:\n\t" LUT4_ROW("16", "128")                                                 \
            P "_r3:\n\t" LUT4_ROW("12", "-128")                                                \
            P "_r2:\n\t" LUT4_ROW("8", "-384")                                                 \
            P "_r1:\n\t" LUT4_ROW("4", "-640")                                                 \
            P "_r0:\n\t" LUT4_ROW("0", "-896")                                                 \
            LUTG_EPILOGUE(P, LUTG_BITS4, RESIDUAL, STORE))
LUT8_RUN_FUNCTION(lut_run8, ".Llut_run8", "")
LUT8_RUN_FUNCTION(lut_run8_residual, ".Llut_run8r", LUT8_RESIDUAL)
LUT4_RUN_FUNCTION(lut_run4, ".Llut_run4", "", LUTG_STORE)
LUT4_RUN_FUNCTION(lut_run4_residual, ".Llut_run4r", LUT4_RESIDUAL, LUTG_STORE)
LUT4_RUN_FUNCTION(lut_run4_hi, ".Llut_run4h", "", LUTG_STORE_HI)
LUT4_RUN_FUNCTION(lut_run4_hi_residual, ".Llut_run4hr", LUT4_RESIDUAL_HI, LUTG_STORE_HI)

/* A tile of 8 or 4 groups through lut_run8 / lut_run4 where they apply: the tile starts an
 * output word (g0 % 8 == 0; 4 groups also its high half, g0 % 8 == 4, ORed into the word the
 * tile before wrote) and has no channels past cout. With a residual at stride 1 over a
 * map of the output's width one call takes every pixel, otherwise one call per row.
 * 1 done, 0 not. */
static int lut_tile_run(const uint32_t *in, int h, int w, int iw, int Q, int G,
                        const uint32_t *T, const uint32_t *cp, const uint32_t *cd,
                        const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                        int res_c, int res_stride, int cout, int g0, uint32_t *out) {
    const int hi = (g0 & 7) == 4;
    if ((G != 8 && G != 4) || ((g0 & 7) && !(G == 4 && hi)) || cout < 4 * (g0 + G) || h * w < 1)
        return 0;
    const int ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c), word = g0 >> 3;
    const int with_res = thr->has_residual && residual && word < rw;
    const int full = Q >> 3, rem = Q & 7;
    uint32_t ctx[LUT_RUNG_WORDS];
    for (int g = 0; g < 8; ++g) {
        ctx[g] = g < G ? cp[g] : 0u;
        ctx[8 + g] = g < G ? cd[g] : 0u;
    }
    ctx[16] = 0x80808080u;
    ctx[17] = LUT_GATHER;
    ctx[18] = (uint32_t)(uintptr_t)T + LUT_RUNG_BIAS(G);
    ctx[19] = ctx[18] + (uint32_t)full * 512u * (uint32_t)G;
    ctx[22] = (thr->negative[word] >> (hi ? 16 : 0)) & (G == 8 ? ~0u : 0xFFFFu);
    ctx[24] = 4u * (uint32_t)ow;
    ctx[28] = (uint32_t)rem;
    ctx[29] = full > 0 ? 9u : 8u;
    void (*run)(const uint32_t *, const uint32_t *) =
        G == 8 ? (with_res ? lut_run8_residual : lut_run8)
        : hi   ? (with_res ? lut_run4_hi_residual : lut_run4_hi)
               : (with_res ? lut_run4_residual : lut_run4);
    const int whole = !with_res || (res_stride == 1 && res_w == w);
    const int rows = whole ? 1 : h, pixels = whole ? h * w : w;
    for (int y = 0; y < rows; ++y) {
        const uint32_t *a = in + y * w * iw;
        ctx[23] = (uint32_t)(uintptr_t)(out + y * w * ow + word);
        ctx[25] = with_res ? (uint32_t)(uintptr_t)(residual + (y * res_stride) * res_w * rw + word)
                           : 0u;
        ctx[26] = 4u * (uint32_t)(rw * res_stride);
        ctx[27] = (uint32_t)(uintptr_t)(a + pixels * iw);
        run(a, ctx);
    }
    return 1;
}

#ifdef TRIT_WORD_TILES
/* Tables made at code generation in whole-word tiles (TRIT_NIBBLE_WORD_TILES of kernels.h,
 * cout a multiple of 16): tiles of eight groups, the last one of four where 16 channels are
 * left, each through lut_run8 / lut_run4 with the start values that follow its rows.
 * 1 done, 0 not. Compiled where a model passes such tables (TRIT_WORD_TILES, kernels.h). */
__attribute__((noinline)) static int lut_word_tiles(const uint32_t *in, int h, int w, int cin,
                                                    const uint32_t *tables,
                                                    const trit_threshold_t *thr,
                                                    const uint32_t *residual, int res_w,
                                                    int res_c, int res_stride, int cout,
                                                    uint32_t *out) {
    const int iw = TRIT_WORDS(cin), Q = (cin + 3) / 4, groups = cout / 4;
    if (cin > 127 || cout % 16 || h * w < 1) return 0;
    for (int g0 = 0; g0 < groups;) {
        const int G = groups - g0 >= 8 ? 8 : 4;
        const uint32_t *cp = tables + Q * 16 * G, *cd = cp + G;
        if (!lut_tile_run(in, h, w, iw, Q, G, tables, cp, cd, thr, residual, res_w, res_c,
                          res_stride, cout, g0, out))
            return 0;
        tables = cd + G;
        g0 += G;
    }
    return 1;
}
#endif
#endif

/* One tile over all pixels: channels 4 g0 .. 4 (g0 + G) - 1, which lie in output word
 * g0 / 8 at bit 4 (g0 % 8); the first tile of a word writes it, later ones OR into it. */
static inline __attribute__((always_inline)) void lut_tile(
    const uint32_t *in, int h, int w, int iw, int Q, const int G, const uint32_t *T,
    const uint32_t *cp, const uint32_t *cd, const trit_threshold_t *thr, const uint32_t *residual,
    int res_w, int res_c, int res_stride, int cout, int g0, uint32_t *out) {
    const int ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    const int word = g0 >> 3, shift = 4 * (g0 & 7), first = (g0 & 7) == 0;
    const int lanes = cout - 4 * g0 < 4 * G ? cout - 4 * g0 : 4 * G;
    const uint32_t lane_mask = lanes >= 32 ? ~0u : (1u << lanes) - 1u;
    const uint32_t neg = (thr->negative[word] >> shift) & lane_mask;
    const int with_res = thr->has_residual && residual && word < rw;
    const int full = Q >> 3, rem = Q & 7;
    uint32_t *o = out + word;
    const uint32_t *a = in;
    for (int y = 0; y < h; ++y) {
        const uint32_t *rrow = with_res ? residual + (y * res_stride) * res_w * rw + word : 0;
        for (int x = 0; x < w; ++x, a += iw, o += ow) {
            /* G accumulators as named registers (G is a constant: unused ones vanish) */
            uint32_t c0 = cp[0], c1 = G > 1 ? cp[1] : 0u, c2 = G > 2 ? cp[2] : 0u,
                     c3 = G > 3 ? cp[3] : 0u, c4 = G > 4 ? cp[4] : 0u, c5 = G > 5 ? cp[5] : 0u,
                     c6 = G > 6 ? cp[6] : 0u, c7 = G > 7 ? cp[7] : 0u;
            (void)c4;
            (void)c5;
            (void)c6;
            (void)c7;
            uint32_t p_, x_, y_;
            (void)y_;
            const char *t = (const char *)T;
            int j = 0;
            for (; j < full; ++j, t += 8 * 64 * G) {
                const uint32_t v = a[j];
                LUT_ROW(0); LUT_ROW(1); LUT_ROW(2); LUT_ROW(3);
                LUT_ROW(4); LUT_ROW(5); LUT_ROW(6); LUT_ROW(7);
            }
            if (rem) {
                const uint32_t v = a[j];
                switch (rem) { /* the last word's nibbles, unrolled */
                case 7: LUT_ROW(6); /* fall through */
                case 6: LUT_ROW(5); /* fall through */
                case 5: LUT_ROW(4); /* fall through */
                case 4: LUT_ROW(3); /* fall through */
                case 3: LUT_ROW(2); /* fall through */
                case 2: LUT_ROW(1); /* fall through */
                default: LUT_ROW(0);
                }
            }
            uint32_t bits = G == 8   ? lut_bits8(c0, c1) | lut_bits8(c2, c3) << 8 |
                                           lut_bits8(c4, c5) << 16 | lut_bits8(c6, c7) << 24
                            : G == 6 ? lut_bits8(c0, c1) | lut_bits8(c2, c3) << 8 |
                                           lut_bits8(c4, c5) << 16
                            : G == 4 ? lut_bits8(c0, c1) | lut_bits8(c2, c3) << 8
                            : G == 2 ? lut_bits8(c0, c1)
                                     : lut_bits(c0);
            if (with_res) {
                const uint32_t rsel = rrow[(x * res_stride) * rw] >> shift;
                const uint32_t bm =
                    G == 8   ? lut_bits8(c0 + cd[0], c1 + cd[1]) |
                                   lut_bits8(c2 + cd[2], c3 + cd[3]) << 8 |
                                   lut_bits8(c4 + cd[4], c5 + cd[5]) << 16 |
                                   lut_bits8(c6 + cd[6], c7 + cd[7]) << 24
                    : G == 6 ? lut_bits8(c0 + cd[0], c1 + cd[1]) |
                                   lut_bits8(c2 + cd[2], c3 + cd[3]) << 8 |
                                   lut_bits8(c4 + cd[4], c5 + cd[5]) << 16
                    : G == 4 ? lut_bits8(c0 + cd[0], c1 + cd[1]) |
                                   lut_bits8(c2 + cd[2], c3 + cd[3]) << 8
                    : G == 2 ? lut_bits8(c0 + cd[0], c1 + cd[1])
                             : lut_bits(c0 + cd[0]);
                bits ^= (bits ^ bm) & rsel;
            }
            bits = ((bits ^ neg) & lane_mask) << shift;
            *o = first ? bits : *o | bits;
        }
    }
}

/* Counter start values of channels o0 .. o0 + 4 G - 1, four per word (byte b = channel
 * o0 + 4 g + b): 0x80 - L + (number of -1 weights), L = count limit + 1 (channel_limits); cd:
 * what to add for a residual -1 instead of +1. Channels past cout: 0x80 (masked off later). */
static void lut_start_values(const trit_threshold_t *thr, const uint32_t *sign,
                             const uint32_t *nz, int iw, int32_t alpha, int cout, int res_c,
                             const uint32_t *residual, int o0, int G, uint32_t *cp,
                             uint32_t *cd) {
    const swar_masks_t m = swar_masks();
    for (int g = 0; g < G; ++g) {
        uint32_t p = 0, q = 0;
        for (int b = 3; b >= 0; --b) {
            const int o = o0 + 4 * g + b;
            int32_t lp = -1, lm = -1, nneg = 0;
            if (o < cout) {
                const uint32_t *zo = nz + o * iw, *so = sign + o * iw;
                uint32_t n = 0, k = 0;
                int j = 0;
                for (; j + 2 <= iw; j += 2) {
                    n += popcount2(zo[j], zo[j + 1], m);
                    k += popcount2(zo[j] & so[j], zo[j + 1] & so[j + 1], m);
                }
                if (j < iw) {
                    n += popcount1(zo[j], m);
                    k += popcount1(zo[j] & so[j], m);
                }
                nneg = (int32_t)k;
                channel_limits(thr, o, res_c, residual, alpha, (int32_t)n, &lp, &lm);
            }
            p = (p << 8) | (uint32_t)(0x80 - (lp + 1) + nneg);
            q = (q << 8) | (uint32_t)(0x80 - (lm + 1) + nneg);
        }
        cp[g] = p;
        cd[g] = q - p;
    }
}

/* Returns 0 (nothing done) where the kernel does not apply: cin > 127, or no table fits. */
/* Below this many pixels the tables cost more to build than they save: the bit-sliced kernel
 * takes over (96 -> 96 channels on 4 x 4 pixels on the M4: about 80,000 instructions against
 * 88,000; on 8 x 8 pixels the tables win, about 220,000 against 134,000-175,000). */
#define LUT_MIN_PIXELS 32

/* the assembly tiles of 8 and 4 groups where they apply (lut_tile_run) */
#ifdef LUT_RUN_ASM
#define LUT_TILE_RUN(Gc)                                                                       \
    lut_tile_run(in, h, w, iw, Q, Gc, T, cp, cd, thr, residual, res_w, res_c, res_stride, cout, \
                 g0, out)
#else
#define LUT_TILE_RUN(Gc) 0
#endif

static int pw_equal_lut(const uint32_t *in, int h, int w, int cin, const uint32_t *sign,
                        const uint32_t *nz, int32_t alpha, int cout, const trit_threshold_t *thr,
                        const uint32_t *residual, int res_w, int res_c, int res_stride,
                        uint32_t *out, int32_t *scratch, const uint32_t *tables,
                        const uint32_t *starts) {
    const int iw = TRIT_WORDS(cin), Q = (cin + 3) / 4, groups = (cout + 3) / 4;
    /* tables from the code generator: no build, worth it at any pixel count; tiles as the
     * uncapped scratch would hold them (codegen/nibble_tables.py mirrors this plan) */
    const int room = tables ? TRIT_SCRATCH_FULL_(cout) : TRIT_SCRATCH_INTS(cout);
    if (cin > 127 || (!tables && h * w < LUT_MIN_PIXELS)) return 0;
    int gmax = 4;
    while (gmax > 0 && Q * 16 * gmax > room) gmax >>= 1;
    if (gmax == 0) return 0;
    uint32_t *T = (uint32_t *)scratch;
    for (int g0 = 0; g0 < groups;) {
        int G = gmax;
        while (G > groups - g0) G >>= 1;
        /* a whole output word (eight groups) in one tile, or its last 21..28 channels in one of
         * six groups, where the table fits */
        if ((g0 & 7) == 0 && groups - g0 >= 8 && Q * 16 * 8 <= room)
            G = 8;
        else if ((g0 & 7) == 0 && (groups - g0 == 6 || groups - g0 == 7) && Q * 16 * 6 <= room)
            G = 6;
        /* start values per byte, 0x80 - L + (number of -1 weights: the count at v = 0 in every
         * nibble): residual +1 (or none); cd: the difference for residual -1 */
        uint32_t cp[8], cd[8];
        if (tables) { /* this tile's rows and start values, then the next tile's */
            T = (uint32_t *)tables;
            for (int g = 0; g < G; ++g) {
                cp[g] = tables[Q * 16 * G + g];
                cd[g] = tables[Q * 16 * G + G + g];
            }
            tables += Q * 16 * G + 2 * G;
        } else if (starts) { /* the generator's start values of the tile's groups */
            for (int g = 0; g < G; ++g) {
                cp[g] = starts[g0 + g];
                cd[g] = starts[groups + g0 + g];
            }
        } else {
            lut_start_values(thr, sign, nz, iw, alpha, cout, res_c, residual, 4 * g0, G, cp, cd);
        }
        /* the tile width as a constant: the accumulators stay in registers */
#define LUT_TILE(Gc)                                                                           \
    case Gc:                                                                                   \
        if (T == (uint32_t *)scratch) lut_build(T, Q, Gc, sign, nz, iw, 4 * g0, cout);         \
        if (LUT_TILE_RUN(Gc)) break;                                                           \
        lut_tile(in, h, w, iw, Q, Gc, T, cp, cd, thr, residual, res_w, res_c, res_stride, cout, \
                 g0, out);                                                                     \
        break;
        switch (G) {
            LUT_TILE(8)
        case 6: /* 24 channels over one input word: the assembly run where it applies */
            if (T == (uint32_t *)scratch) lut_build(T, Q, 6, sign, nz, iw, 4 * g0, cout);
#ifdef LUT_RUN_ASM
            if (g0 == 0 && groups == 6 && iw == 1 &&
                lut_tile24(in, h * w, w, Q, T, cp, cd, thr, residual, res_w, res_c, res_stride,
                           cout, out))
                break;
#endif
            lut_tile(in, h, w, iw, Q, 6, T, cp, cd, thr, residual, res_w, res_c, res_stride,
                     cout, g0, out);
            break;
            LUT_TILE(4)
            LUT_TILE(2)
        default:
            LUT_TILE(1)
        }
#undef LUT_TILE
        g0 += G;
    }
    return 1;
}
