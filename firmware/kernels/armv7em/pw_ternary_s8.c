/* ARMv7E-M flavour: pointwise ternary x int8 convolution with requantised int8 outputs
 * (int8-activation models, IR v2; kernels.h). Output channels go in tiles whose codes are
 * unpacked from the bit planes once per call.
 * - wp == wn and act_min 0 or -128 (the models' case): the codes widened into int16 pairs,
 *   four channels interleaved; per pixel (widened once per tile) and group of four channels,
 *   one LDRD of the pixel, four of the codes and eight SMLAD per 16 products (inline
 *   assembly), then the requantisation ending in one saturation (requant3, int8_dot.h);
 *   acc = wp * (P - N). With Helium (Cortex-M55): int8 code rows and one VMLADAV per 16
 *   inputs.
 * - otherwise two pixels by two rows of int8 codes (one channel's codes and their absolute
 *   values, giving P - N and P + N) through int8_dot.h's dot_2x2.
 * Shapes whose buffers do not fit the scratch take the portable loops. */
#include "acle_dsp.h"

#include "int8_dot.h"
#include "trit/kernels.h"

/* Codes of channel o as int8 (rows of `stride` bytes, zero beyond cin); `absolute` gives
 * |code| instead. */
static void unpack_row(const uint32_t *sign, const uint32_t *nz, int nw, int cin, int o,
                       int absolute, int8_t *row, int stride) {
    for (int i = 0; i < stride; ++i) {
        if (i >= cin) {
            row[i] = 0;
            continue;
        }
        const uint32_t bit = 1u << (i % 32), word = (uint32_t)(o * nw + i / 32);
        const int code = (nz[word] & bit) ? ((!absolute && (sign[word] & bit)) ? -1 : 1) : 0;
        row[i] = (int8_t)code;
    }
}

/* Codes of channel o as int16 pairs in SXTB16 order, 2 * groups words `step` words apart:
 * word 2g holds the codes of inputs 4g (low half) and 4g + 2, word 2g + 1 those of 4g + 1 and
 * 4g + 3; 0 past cin. */
static void unpack_pairs(const uint32_t *sign, const uint32_t *nz, int nw, int cin, int o,
                         uint32_t *row, int groups, int step) {
    for (int g = 0; g < groups; ++g) {
        uint32_t half[4];
        for (int k = 0; k < 4; ++k) {
            const int i = 4 * g + k;
            const uint32_t bit = 1u << (i % 32), word = (uint32_t)(o * nw + i / 32);
            half[k] = i >= cin || !(nz[word] & bit) ? 0u : (sign[word] & bit) ? 0xffffu : 1u;
        }
        row[2 * g * step] = half[0] | half[2] << 16;
        row[(2 * g + 1) * step] = half[1] | half[3] << 16;
    }
}

/* One pass of dot_1x4_pairs: two pair words of the pixel, their codes for four channels. */
#define PASS                                                                                   \
    "ldrd %[x0], %[x1], [%[x]], #8\n\t"                                                        \
    "ldrd %[u0], %[u1], [%[w]], #8\n\t"                                                        \
    "ldrd %[u2], %[u3], [%[w]], #8\n\t"                                                        \
    "smlad %[s0], %[x0], %[u0], %[s0]\n\t"                                                     \
    "smlad %[s1], %[x0], %[u1], %[s1]\n\t"                                                     \
    "smlad %[s2], %[x0], %[u2], %[s2]\n\t"                                                     \
    "smlad %[s3], %[x0], %[u3], %[s3]\n\t"                                                     \
    "ldrd %[u0], %[u1], [%[w]], #8\n\t"                                                        \
    "ldrd %[u2], %[u3], [%[w]], #8\n\t"                                                        \
    "smlad %[s0], %[x1], %[u0], %[s0]\n\t"                                                     \
    "smlad %[s1], %[x1], %[u1], %[s1]\n\t"                                                     \
    "smlad %[s2], %[x1], %[u2], %[s2]\n\t"                                                     \
    "smlad %[s3], %[x1], %[u3], %[s3]\n\t"

/* Four channels' sums, returned by value (kept in registers). */
typedef struct {
    int32_t s[4];
} sums4_t;

/* Sums of one pixel's pairs x (words, even, > 0) with four channels' code pairs interleaved
 * in w (word i of channel k at w[4 i + k]). Per pass of two pair words (16 products): one LDRD
 * of the pixel, four of the codes and eight SMLAD (GCC loads the codes one word at a time);
 * two passes per loop iteration, an odd first pass before the loop. */
static inline __attribute__((always_inline)) sums4_t dot_1x4_pairs(const uint32_t *x,
                                                                   const uint32_t *w,
                                                                   int words) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const uint32_t *const end = x + words;
    uint32_t x0, x1, u0, u1, u2, u3;
    __asm__ volatile("tst %[n], #2\n\t"
                     "beq 1f\n\t"
                     PASS
                     "cmp %[x], %[end]\n\t"
                     "beq 2f\n"
                     "1:\n\t"
                     PASS PASS
                     "cmp %[x], %[end]\n\t"
                     "bne 1b\n"
                     "2:"
                     : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [x] "+r"(x),
                       [w] "+r"(w), [x0] "=&r"(x0), [x1] "=&r"(x1), [u0] "=&r"(u0),
                       [u1] "=&r"(u1), [u2] "=&r"(u2), [u3] "=&r"(u3)
                     : [end] "r"(end), [n] "r"(words)
                     : "cc", "memory");
    const sums4_t r = {{s0, s1, s2, s3}};
    return r;
}
#undef PASS

/* The wp == wn path over one tile of n_ch channels from o0: rows holds them in groups of 4,
 * interleaved (dot_1x4_pairs), 4 * row_words words per group; q their requantisation
 * parameters. */
static inline __attribute__((always_inline)) void
pw_equal_tile(const int8_t *in, int pixels, int cin, int32_t wp, int cout, int o0, int n_ch,
              const uint32_t *rows, int row_words, const requant3_t *q, int8_t *out,
              uint32_t *px, int relu) {
    const int full = n_ch & ~3;
    for (int p = 0; p < pixels; ++p) {
        widen_pairs_padded(in + p * cin, cin, px);
        int8_t *const y = out + p * cout + o0;
        int j = 0;
        for (; j < full; j += 4) {
            const sums4_t r = dot_1x4_pairs(px, rows + j * row_words, row_words);
            y[j] = (int8_t)requant3(wp * r.s[0], q + j, relu);
            y[j + 1] = (int8_t)requant3(wp * r.s[1], q + j + 1, relu);
            y[j + 2] = (int8_t)requant3(wp * r.s[2], q + j + 2, relu);
            y[j + 3] = (int8_t)requant3(wp * r.s[3], q + j + 3, relu);
        }
        if (j < n_ch) { /* a last group of 1 to 3 channels (zero codes beyond) */
            const sums4_t r = dot_1x4_pairs(px, rows + j * row_words, row_words);
            for (int k = 0; j + k < n_ch; ++k)
                y[j + k] = (int8_t)requant3(wp * r.s[k], q + j + k, relu);
        }
    }
}

#ifdef __ARM_FEATURE_MVE
#include <arm_mve.h>

/* Helium, wp == wn: the tile's codes as int8 rows of `stride` bytes (a multiple of 16, zero
 * past cin); per pixel and output channel, one VMLADAV per 16 inputs. nv: the pixel's vectors
 * (1 to 5, a constant: they stay in registers across the channels), 0 for any cin (reloaded
 * per channel); the last one loaded under a tail predicate, so nothing past cin is read. */
static inline __attribute__((always_inline)) void
pw_equal_tile_helium(const int8_t *in, int pixels, int cin, int32_t wp, int cout, int o0,
                     int n_ch, const int8_t *rows, int stride, const trit_requant_t *rq,
                     int8_t *out, int relu, int nv) {
    const int32_t *const bias = rq->bias + o0, *const mult = rq->mult + o0,
                         *const shift = rq->shift + o0;
    for (int p = 0; p < pixels; ++p) {
        const int8_t *const x = in + p * cin;
        int8_t *const y = out + p * cout + o0;
        int8x16_t v[5];
        for (int k = 0; k < nv; ++k)
            v[k] = vldrbq_z_s8(x + 16 * k, vctp8q((uint32_t)(cin - 16 * k)));
        for (int j = 0; j < n_ch; ++j) {
            const int8_t *const row = rows + j * stride;
            int32_t acc = 0;
            if (nv) {
                for (int k = 0; k < nv; ++k) acc = vmladavaq_s8(acc, v[k], vld1q_s8(row + 16 * k));
            } else {
                for (int i = 0; i < cin; i += 16)
                    acc = vmladavaq_s8(acc, vldrbq_z_s8(x + i, vctp8q((uint32_t)(cin - i))),
                                       vld1q_s8(row + i));
            }
            y[j] = (int8_t)requant_sat(wp * acc, bias[j], mult[j], shift[j], relu);
        }
    }
}

/* pw_equal_tile_helium with nv and relu as constants. */
static void pw_equal_tile_helium_any(const int8_t *in, int pixels, int cin, int32_t wp,
                                     int cout, int o0, int n_ch, const int8_t *rows, int stride,
                                     const trit_requant_t *rq, int8_t *out) {
#define TILE(relu, nv)                                                                         \
    pw_equal_tile_helium(in, pixels, cin, wp, cout, o0, n_ch, rows, stride, rq, out, relu, nv)
    const int relu = rq->act_min == 0;
    switch ((cin + 15) / 16) {
    case 1: relu ? TILE(1, 1) : TILE(0, 1); break;
    case 2: relu ? TILE(1, 2) : TILE(0, 2); break;
    case 3: relu ? TILE(1, 3) : TILE(0, 3); break;
    case 4: relu ? TILE(1, 4) : TILE(0, 4); break;
    case 5: relu ? TILE(1, 5) : TILE(0, 5); break;
    default: relu ? TILE(1, 0) : TILE(0, 0); break;
    }
#undef TILE
}

static void pw_equal_helium(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                            const uint32_t *nz, int32_t wp, int cout,
                            const trit_requant_t *rq, int8_t *out, int8_t *rows, int tile) {
    const int nw = TRIT_WORDS(cin), stride = 16 * ((cin + 15) / 16);
    for (int o0 = 0; o0 < cout; o0 += tile) {
        const int n_ch = cout - o0 < tile ? cout - o0 : tile;
        for (int j = 0; j < n_ch; ++j)
            unpack_row(sign, nz, nw, cin, o0 + j, 0, rows + j * stride, stride);
        pw_equal_tile_helium_any(in, pixels, cin, wp, cout, o0, n_ch, rows, stride, rq, out);
    }
}
#endif

/* tile: channels per tile, a multiple of 4; q: room for the tile's parameters. */
static void pw_equal(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                     const uint32_t *nz, int32_t wp, int cout, const trit_requant_t *rq,
                     int8_t *out, uint32_t *px, requant3_t *q, uint32_t *rows, int tile) {
    const int nw = TRIT_WORDS(cin), groups = (cin + 3) / 4, row_words = 2 * groups;
    for (int o0 = 0; o0 < cout; o0 += tile) {
        const int n_ch = cout - o0 < tile ? cout - o0 : tile;
        for (int j = 0; j < ((n_ch + 3) & ~3); ++j) {
            uint32_t *const row = rows + (j & ~3) * row_words + (j & 3);
            if (j < n_ch) {
                unpack_pairs(sign, nz, nw, cin, o0 + j, row, groups, 4);
                q[j] = requant3_of(rq, o0 + j);
            } else {
                for (int i = 0; i < row_words; ++i) row[4 * i] = 0;
            }
        }
        if (rq->act_min == 0)
            pw_equal_tile(in, pixels, cin, wp, cout, o0, n_ch, rows, row_words, q, out, px, 1);
        else
            pw_equal_tile(in, pixels, cin, wp, cout, o0, n_ch, rows, row_words, q, out, px, 0);
    }
}

void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    const int nw = TRIT_WORDS(cin), pair_words = 2 * (cin / 4), stride = 4 * ((cin + 3) / 4);
    const int equal = s.wp == s.wn;
    if (equal && (rq->act_min == 0 || rq->act_min == -128)) {
#ifdef __ARM_FEATURE_MVE
        const int tile16 = 4 * TRIT_SCRATCH_INTS(cout) / (16 * ((cin + 15) / 16));
        if (tile16 >= 1) {
            pw_equal_helium(in, pixels, cin, sign, nz, s.wp, cout, rq, out, (int8_t *)scratch,
                            tile16);
            return;
        }
#endif
        /* scratch: the pixel's pairs, the tile's parameters (3 words a channel), then its
         * rows of pairs */
        const int words = 2 * ((cin + 3) / 4);
        const int tile = ((TRIT_SCRATCH_INTS(cout) - words) / (words + 3)) & ~3;
        if (tile >= 4) {
            uint32_t *const px = (uint32_t *)scratch;
            requant3_t *const q = (requant3_t *)(scratch + words);
            pw_equal(in, pixels, cin, sign, nz, s.wp, cout, rq, out, px, q,
                     px + words + 3 * tile, tile);
            return;
        }
    }
    /* scratch: pairs of pixel a and b, then the rows of a tile */
    const int row_space = 4 * (TRIT_SCRATCH_INTS(cout) - 2 * pair_words);
    int tile = row_space / stride; /* rows */
    if (!equal) tile &= ~1;
    if (tile < 2) {
        trit_pw_ternary_s8_loops(in, pixels, cin, sign, nz, s, cout, rq, out);
        return;
    }
    uint32_t *const pa = (uint32_t *)scratch, *const pb_own = pa + pair_words;
    int8_t *const rows = (int8_t *)(pb_own + pair_words);
    const int per_tile = equal ? tile : tile / 2; /* channels */
    int32_t r[4];
    for (int o0 = 0; o0 < cout; o0 += per_tile) {
        const int n_ch = cout - o0 < per_tile ? cout - o0 : per_tile;
        for (int j = 0; j < n_ch; ++j) {
            if (equal) {
                unpack_row(sign, nz, nw, cin, o0 + j, 0, rows + j * stride, stride);
            } else {
                unpack_row(sign, nz, nw, cin, o0 + j, 0, rows + 2 * j * stride, stride);
                unpack_row(sign, nz, nw, cin, o0 + j, 1, rows + (2 * j + 1) * stride, stride);
            }
        }
        for (int p = 0; p < pixels; p += 2) {
            const int two = p + 1 < pixels;
            const int8_t *ba = in + p * cin, *bb = two ? ba + cin : ba;
            uint32_t *pb = two ? pb_own : pa;
            widen_pairs(ba, cin, pa);
            if (two) widen_pairs(bb, cin, pb);
            int8_t *ya = out + p * cout, *yb = ya + cout;
            if (equal) {
                int j = 0;
                for (; j < n_ch; j += 2) {
                    /* an odd last channel is paired with itself */
                    const int8_t *w1 = rows + (j + 1 < n_ch ? j + 1 : j) * stride;
                    dot_2x2(pa, pb, ba, bb, rows + j * stride, w1, cin, r);
                    const int o = o0 + j;
                    ya[o] = trit_requant(s.wp * r[0], o, rq);
                    if (two) yb[o] = trit_requant(s.wp * r[2], o, rq);
                    if (j + 1 < n_ch) {
                        ya[o + 1] = trit_requant(s.wp * r[1], o + 1, rq);
                        if (two) yb[o + 1] = trit_requant(s.wp * r[3], o + 1, rq);
                    }
                }
            } else {
                for (int j = 0; j < n_ch; ++j) {
                    dot_2x2(pa, pb, ba, bb, rows + 2 * j * stride, rows + (2 * j + 1) * stride,
                            cin, r);
                    const int o = o0 + j;
                    ya[o] = trit_requant(trit_ternary_acc(r[0], r[1], s), o, rq);
                    if (two) yb[o] = trit_requant(trit_ternary_acc(r[2], r[3], s), o, rq);
                }
            }
        }
    }
}
