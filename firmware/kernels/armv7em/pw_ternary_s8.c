/* ARMv7E-M flavour: pointwise ternary x int8 convolution with requantised int8 outputs
 * (int8-activation models, IR v2; kernels.h).
 *
 * Output channels go in tiles whose codes are unpacked from the bit planes once per call;
 * then two pixels at a time, each pixel widened once into int16 pairs (SXTB16 order), two
 * output channels at a time through a 2 x 2 SMLAD dot.
 * - wp == wn and act_min 0 or -128 (the models' case): the rows are the channels' codes
 *   already widened into int16 pairs, so the dot is 4 SMLAD per 4 loads (8 products), and
 *   the requantisation ends in one saturation (requant_sat); acc = wp * (P - N).
 * - otherwise the rows are int8 (one channel's codes and their absolute values, giving P - N
 *   and P + N) widened in the dot (int8_dot.h dot_2x2).
 * Shapes whose pixel buffers and two rows do not fit the scratch take the portable loops. */
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

/* Portable loops for shapes the scratch cannot hold. */
static void pw_loops(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                     const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                     int8_t *out) {
    const int nw = TRIT_WORDS(cin);
    for (int p = 0; p < pixels; ++p)
        for (int o = 0; o < cout; ++o) {
            int32_t d = 0, t = 0;
            for (int i = 0; i < cin; ++i) {
                const uint32_t bit = 1u << (i % 32);
                if (!(nz[o * nw + i / 32] & bit)) continue;
                const int32_t v = in[p * cin + i];
                t += v;
                d += (sign[o * nw + i / 32] & bit) ? -v : v;
            }
            out[p * cout + o] = trit_requant(trit_ternary_acc(d, t, s), o, rq);
        }
}

/* Codes of channel o as int16 pairs in SXTB16 order, 2 * groups words: word 2g holds the
 * codes of inputs 4g (low half) and 4g + 2, word 2g + 1 those of 4g + 1 and 4g + 3; 0 past
 * cin. */
static void unpack_pairs(const uint32_t *sign, const uint32_t *nz, int nw, int cin, int o,
                         uint32_t *row, int groups) {
    for (int g = 0; g < groups; ++g) {
        uint32_t half[4];
        for (int k = 0; k < 4; ++k) {
            const int i = 4 * g + k;
            const uint32_t bit = 1u << (i % 32), word = (uint32_t)(o * nw + i / 32);
            half[k] = i >= cin || !(nz[word] & bit) ? 0u : (sign[word] & bit) ? 0xffffu : 1u;
        }
        row[2 * g] = half[0] | half[2] << 16;
        row[2 * g + 1] = half[1] | half[3] << 16;
    }
}

/* The wp == wn path: rows[j] are channel o0 + j's codes as pairs (row_words each). */
static inline __attribute__((always_inline)) void
pw_equal_tile(const int8_t *in, int pixels, int cin, int32_t wp, int cout, int o0, int n_ch,
              const uint32_t *rows, int row_words, const trit_requant_t *rq, int8_t *out,
              uint32_t *pa, uint32_t *pb_own, int relu) {
    int32_t r[4];
    /* locals: stores through int8_t pointers would otherwise reload them */
    const int32_t *const bias = rq->bias + o0, *const mult = rq->mult + o0,
                         *const shift = rq->shift + o0;
    for (int p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels;
        uint32_t *pb = two ? pb_own : pa;
        widen_pairs_padded(in + p * cin, cin, pa);
        if (two) widen_pairs_padded(in + (p + 1) * cin, cin, pb);
        int8_t *ya = out + p * cout + o0, *yb = ya + cout;
        for (int j = 0; j < n_ch; j += 2) {
            /* an odd last channel is paired with itself */
            const int j1 = j + 1 < n_ch ? j + 1 : j;
            dot_2x2_pairs(pa, pb, rows + j * row_words, rows + j1 * row_words, row_words, r);
            const int32_t b0 = bias[j], m0 = mult[j], s0 = shift[j];
            ya[j] = (int8_t)requant_sat(wp * r[0], b0, m0, s0, relu);
            if (two) yb[j] = (int8_t)requant_sat(wp * r[2], b0, m0, s0, relu);
            if (j + 1 < n_ch) {
                const int32_t b1 = bias[j + 1], m1 = mult[j + 1], s1 = shift[j + 1];
                ya[j + 1] = (int8_t)requant_sat(wp * r[1], b1, m1, s1, relu);
                if (two) yb[j + 1] = (int8_t)requant_sat(wp * r[3], b1, m1, s1, relu);
            }
        }
    }
}

static void pw_equal(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                     const uint32_t *nz, int32_t wp, int cout, const trit_requant_t *rq,
                     int8_t *out, uint32_t *pa, uint32_t *pb, uint32_t *rows, int tile) {
    const int nw = TRIT_WORDS(cin), groups = (cin + 3) / 4, row_words = 2 * groups;
    for (int o0 = 0; o0 < cout; o0 += tile) {
        const int n_ch = cout - o0 < tile ? cout - o0 : tile;
        for (int j = 0; j < n_ch; ++j)
            unpack_pairs(sign, nz, nw, cin, o0 + j, rows + j * row_words, groups);
        if (rq->act_min == 0)
            pw_equal_tile(in, pixels, cin, wp, cout, o0, n_ch, rows, row_words, rq, out, pa,
                          pb, 1);
        else
            pw_equal_tile(in, pixels, cin, wp, cout, o0, n_ch, rows, row_words, rq, out, pa,
                          pb, 0);
    }
}

void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    const int nw = TRIT_WORDS(cin), pair_words = 2 * (cin / 4), stride = 4 * ((cin + 3) / 4);
    const int equal = s.wp == s.wn;
    if (equal && (rq->act_min == 0 || rq->act_min == -128)) {
        /* scratch: pairs of pixel a and b, then the tile's rows of pairs */
        const int words = 2 * ((cin + 3) / 4);
        const int tile = (TRIT_SCRATCH_INTS(cout) - 2 * words) / words;
        if (tile >= 2) {
            uint32_t *const pa = (uint32_t *)scratch;
            pw_equal(in, pixels, cin, sign, nz, s.wp, cout, rq, out, pa, pa + words,
                     pa + 2 * words, tile);
            return;
        }
    }
    /* scratch: pairs of pixel a and b, then the rows of a tile */
    const int row_space = 4 * (TRIT_SCRATCH_INTS(cout) - 2 * pair_words);
    int tile = row_space / stride; /* rows */
    if (!equal) tile &= ~1;
    if (tile < 2) {
        pw_loops(in, pixels, cin, sign, nz, s, cout, rq, out);
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
