/* ARMv7E-M flavour: pointwise ternary x int8 convolution with requantised int8 outputs
 * (int8-activation models, IR v2; kernels.h).
 *
 * Output channels go in tiles whose codes are unpacked from the bit planes once per call into
 * int8 rows in the scratch; then two pixels at a time, each pixel widened once into int16
 * pairs, two rows at a time through the 2 x 2 SMLAD dot of int8_dot.h (8 SMLAD per 16
 * products). With wp == wn the rows are two channels' codes (acc = wp * (P - N)); otherwise
 * one channel's codes and their absolute values, giving P - N and P + N. Shapes whose pixel
 * buffers and two rows do not fit the scratch take the portable loops. */
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

void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    const int nw = TRIT_WORDS(cin), pair_words = 2 * (cin / 4), stride = 4 * ((cin + 3) / 4);
    const int equal = s.wp == s.wn;
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
