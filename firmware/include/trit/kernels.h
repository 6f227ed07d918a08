/*
 * trit kernel library: one signature per operation, shared by every flavour
 * (ref = portable C; optimised flavours implement the same functions).
 *
 * Data layouts (all tensors are HWC, row-major over pixels):
 *   int8 image      int8_t  [H][W][C]           x = pixel - 128
 *   binary tensor   uint32_t[H][W][words(C)]    bit (c % 32) of word (c / 32) is 1 when the
 *                                               value is -1, 0 when +1; unused bits are 0
 *   int8 weights    int8_t  [Cout][K][K][Cin]
 *   ternary pw/fc   uint32_t sign[Cout][words(Cin)], nz[Cout][words(Cin)]
 *                   sign bit 1 = -1, nz bit 1 = non-zero; unused bits 0 in both planes
 *   ternary dw      int8_t  [C][K*K] codes in {-1, 0, +1}
 * Integer semantics are those of docs/ir.md.
 */
#ifndef TRIT_KERNELS_H
#define TRIT_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRIT_WORDS(c) (((c) + 31) / 32)

/* int32 scratch a convolution kernel may use, for a layer with c output channels (every
 * flavour stays within it; the generated model places each layer's scratch in the activation
 * arena): the most of 4 c + 64, (2 c + 16) words(c) (the ARMv7E-M pointwise kernel's
 * transposed weights and sliced count limits for cin = c) and 64 ceil(c / 4) (its nibble
 * tables for a tile of 16 output channels and cin = c; 96 ceil(c / 4) for c <= 28, a tile of
 * up to 24 channels) and 274 words(c) + 2 c + 32 (the ARMv7E-M depthwise kernel's tap planes,
 * count limits, weights masked per border class and its edge runs' tables; the largest term
 * only for c <= 12). */
#define TRIT_SCRATCH_MAX2_(a, b) ((a) > (b) ? (a) : (b))
#define TRIT_SCRATCH_FULL_(c)                                                                  \
    TRIT_SCRATCH_MAX2_(TRIT_SCRATCH_MAX2_(TRIT_SCRATCH_MAX2_(4 * (c) + 64,                     \
                                                             (2 * (c) + 16) * TRIT_WORDS(c)),  \
                                          ((c) <= 28 ? 96 : (c) <= 64 ? 128 : 64) *            \
                                              (((c) + 3) / 4)),                                \
                       274 * TRIT_WORDS(c) + 2 * (c) + 32)
/* A model generated for a small arena (trit build --arena-budget) caps the scratch at
 * TRIT_SCRATCH_CAP ints (at least 512), in trit/model_config.h of its project: a layer gets
 * the least of the above and the most of 4 c + 64 and the cap; the optimised kernels check
 * what fits and take smaller tiles (or their per-word paths) where their tables do not. */
#if defined(__has_include)
#if __has_include("trit/model_config.h")
#include "trit/model_config.h"
#endif
#endif
#ifdef TRIT_SCRATCH_CAP
#define TRIT_SCRATCH_INTS(c)                                                                   \
    (TRIT_SCRATCH_FULL_(c) < TRIT_SCRATCH_MAX2_(4 * (c) + 64, TRIT_SCRATCH_CAP)                \
         ? TRIT_SCRATCH_FULL_(c)                                                               \
         : TRIT_SCRATCH_MAX2_(4 * (c) + 64, TRIT_SCRATCH_CAP))
#else
#define TRIT_SCRATCH_INTS(c) TRIT_SCRATCH_FULL_(c)
#endif

/* Batch norm + sign (+ residual) folded into per-channel thresholds: [C] without residual,
 * [C][3] with (column r + 1). Exactly one of threshold / threshold8 / threshold16 is set: int32
 * words, or (IR version 4) the same values as int8 or int16 where they fit, as the thresholds of
 * equal-scale ternary layers do once counted in units of one product (scales 1, clamped to the
 * reachable sums). Read them with trit_threshold_at(). */
typedef struct {
    const int32_t *threshold;
    const uint32_t *negative; /* direction bits, words(C): 1 = output +1 iff acc <= T */
    int has_residual;
    const int8_t *threshold8;
    const int16_t *threshold16;
} trit_threshold_t;

/* Threshold i (index into [C] or [C][3]) whatever its storage width. */
static inline int32_t trit_threshold_at(const trit_threshold_t *t, int i) {
    if (t->threshold8) return t->threshold8[i];
    if (t->threshold16) return t->threshold16[i];
    return t->threshold[i];
}

/* Ternary scales: acc = wp * P - wn * N (docs/ir.md). */
typedef struct {
    int32_t wp;
    int32_t wn;
} trit_scales_t;

/* Threshold n accumulators of one pixel and pack them into words(n) words.
 * residual: the packed residual pixel (NULL when none) with res_channels channels;
 * channels >= res_channels see residual value 0. */
void trit_threshold_pack(const int32_t *acc, int n, const trit_threshold_t *thr,
                         const uint32_t *residual, int res_channels, uint32_t *out);

/* Input layer: int8 image [H][W][cin] -> binary [OH][OW][words(cout)], k x k, stride, pad.
 * Every flavour computes output rows in order and, once it writes output row y, reads no
 * input row above y * stride - pad: the output may start below the image's start in the same
 * buffer and overwrite the rows it no longer needs (codegen/banded.py, in_order_delta). */
void trit_conv_input_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                        int cout, int k, int stride, int pad, const trit_threshold_t *thr,
                        uint32_t *out, int32_t *scratch /* TRIT_SCRATCH_INTS(cout) */);

/* Pointwise 1x1 ternary x binary on an h x w grid (stride 1). residual: NULL, or a binary
 * tensor [.][res_w][words(res_c)] whose pixel (y*res_stride, x*res_stride) is added before
 * the sign of output pixel (y, x) (the option-A shortcut of a block).
 * sliced: NULL, or the layer's bit-sliced constants made at code generation (equal scales
 * wp == wn, cin <= 254; codegen/sliced.py), which a flavour that counts 32 output channels
 * per word reads instead of deriving them per call; flavours that do not ignore it.
 * TRIT_PW_SLICED_WORDS(cin, cout) words: lane vectors [words(cout)][cin][2] (bit l of
 * [g][i][0]: the weight of output g*32+l at input i is -1; of [g][i][1]: it is +1), then
 * count-limit planes [words(cout)][2][8] (bit l of plane b of [g][r]: bit b of K + 1, where
 * output g*32+l is -1 exactly when (count of -1 products > K) XOR its direction bit; r = 0
 * for a residual value +1 or no residual, r = 1 for -1; lanes past cout 0). */
#define TRIT_PW_SLICED_WORDS(cin, cout) (TRIT_WORDS(cout) * (2 * (cin) + 16))
/* tables: NULL, or constants of the nibble-table kernel made at code generation (equal scales
 * wp == wn, cin <= 127; codegen/nibble_tables.py) for the residual the layer is called with (or
 * none); flavours that do not count through nibble tables ignore them. Word 0 says what follows:
 * TRIT_NIBBLE_TABLES: the layer's tables, which the kernel reads instead of building them per
 * call (a layer run a few rows at a time calls it often). Layout: tiles of
 * 4 G output channels in order (G = 8, 6, 4, 2 or 1, chosen as the ARMv7E-M kernel chooses
 * with the uncapped scratch: see codegen/nibble_tables.py), each [ceil(cin / 4)][16][G] words
 * then [2][G]: for nibble q (inputs 4 q .. 4 q + 3) and activation value v (bit i = input
 * 4 q + i is -1), word g holds in byte j the count of -1 products over the nibble's inputs,
 * minus that count at v = 0, of channel o = 4 (g0 + g) + j (the sum over bytes of
 * count * 256^j, modulo 2^32); then the counters' start values, byte j of word g: 0x80 - L +
 * (number of -1 weights of o), L = K + 1 for a residual +1 (or none), K the count limit of
 * trit_pw_ternary_bin's sliced constants (0x80 past cout); then the words to add to them for
 * a residual -1 (the start values for it minus those, modulo 2^32). With tables the
 * ARMv7E-M flavour counts through them on every core (the M55 too, where without them its
 * Helium kernel runs).
 * TRIT_NIBBLE_WORD_TILES: cout a multiple of 16, the same rows and start values in tiles of a
 * whole output word (G = 8; a last G = 4 where 16 channels remain), which the scratch need not
 * hold: the ARMv7E-M flavour counts them with its assembly tiles of 8 and 4 groups where the
 * build defines TRIT_WORD_TILES (trit/model_config.h of a model that passes such tables), and
 * builds its own tables per call otherwise; builds without them carry no code for them.
 * TRIT_NIBBLE_STARTS: only the counters' start values, [2][ceil(cout / 4)] words (the start
 * values of the groups of four channels as above, then the residual -1 differences), for a
 * layer whose tables the kernel builds per call: what would otherwise be derived per call from
 * the weights and thresholds (popcounts and a count limit per channel).
 * TRIT_BYTE_TABLES: for 21..24 inputs and 21..24 outputs (one word each), the start values
 * as for TRIT_NIBBLE_STARTS ([2][6] words); the start values by residual bits, [6][16] words
 * (word [g][r]: group g's start values where bit j of r says channel 4 g + j sees a residual
 * -1); then byte tables [3][256][6] words: for byte r of the activation word (inputs
 * 8 r .. 8 r + 7) and its value v, the sum of the two nibble rows of TRIT_NIBBLE_TABLES
 * (modulo 2^32). 18 KiB of flash for a third fewer instructions in the ARMv7E-M kernel's
 * 24-channel tile; other shapes, flavours and calls take the start values alone. */
#define TRIT_NIBBLE_STARTS 0u
#define TRIT_NIBBLE_TABLES 1u
#define TRIT_BYTE_TABLES 2u
#define TRIT_NIBBLE_WORD_TILES 3u
void trit_pw_ternary_bin(const uint32_t *in, int h, int w, int cin, const uint32_t *sign,
                         const uint32_t *nz, trit_scales_t s, int cout,
                         const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                         int res_c, int res_stride, uint32_t *out,
                         int32_t *scratch /* TRIT_SCRATCH_INTS(cout) */,
                         const uint32_t *sliced, const uint32_t *tables);

/* Depthwise k x k ternary x binary on an h x w input, taps outside the image add 0.
 * sliced: NULL, or the layer's bit-sliced constants made at code generation (3x3, equal
 * scales; codegen/sliced.py), which a flavour that counts 32 channels per word reads instead
 * of deriving them per call; flavours that do not ignore it. TRIT_DW_SLICED_WORDS(c) words:
 * tap planes [9][words(c)][2] (tap t = ky * 3 + kx; bit l of [t][g][0]: channel g*32+l's
 * code is -1, of [t][g][1]: it is non-zero), the number of border classes m <= 9, their keys
 * [9] (bit t of a key: tap t inside the image; unused 0xFFFFFFFF), then count-limit planes
 * [9][words(c)][4] (bit l of plane b of [j][g]: bit b of K + 1 for class j, where channel
 * g*32+l is -1 exactly when (count of -1 products > K) XOR its direction bit). */
#define TRIT_DW_SLICED_WORDS(c) (54 * TRIT_WORDS(c) + 10)
/* Rows (a band of the map, for layers run a few rows at a time): the kernel computes output
 * rows [y0, y1) of the h x w map and writes them from out[0] on; in[0] is the first word of
 * input row in_y0, and the input rows the band reads (y0 * stride - pad to (y1 - 1) * stride
 * - pad + k - 1, those inside the image) follow it. The whole map: in_y0 = 0, y0 = 0,
 * y1 = the output height. */
void trit_dw_ternary_bin(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out,
                         int32_t *scratch /* TRIT_SCRATCH_INTS(c) */,
                         const uint32_t *sliced, int in_y0, int y0, int y1);

/* Global sum pooling of a binary tensor: out[c] = sum of +-1 over h*w pixels. */
void trit_global_sum_pool_bin(const uint32_t *in, int pixels, int c, int32_t *out);

/* Ternary dense layer on int32 inputs: out[k] = wp*P_k - wn*N_k + bias[k]. */
void trit_dense_ternary(const int32_t *in, int cin, const uint32_t *sign, const uint32_t *nz,
                        trit_scales_t s, const int32_t *bias, int cout, int32_t *out);

/* ---- int8 comparison kernels ------------------------------------------------------------
 * The same layers with 8-bit weights and activations, as ordinary int8 deployments run them
 * (CMSIS-NN style): the baseline trit's binary kernels are measured against
 * (`trit kernelbench --network`). Activations int8 [H][W][C]; weights int8 [cout][k][k][cin]
 * (depthwise: [c][k][k]). Per output channel o the int32 sum acc is requantised with one
 * 32 x 32 -> high 32 multiply (SMULL) and a rounding shift:
 *   hi = (int64(acc + bias[o]) * mult[o]) >> 32,  y = clamp((hi + 2^(r - 1)) >> r, act_min, 127)
 * with mult[o] in [2^30, 2^31) and r = shift[o] - 32 in [1, 30] (arithmetic shifts: floor). */
typedef struct {
    const int32_t *bias;
    const int32_t *mult;
    const int32_t *shift;
    int32_t act_min; /* -128, or 0 for a ReLU */
} trit_requant_t;

static inline int8_t trit_requant(int32_t acc, int o, const trit_requant_t *rq) {
    const int32_t hi = (int32_t)(((int64_t)(acc + rq->bias[o]) * rq->mult[o]) >> 32);
    const int r = rq->shift[o] - 32;
    int32_t y = (hi + (1 << (r - 1))) >> r; /* |hi| < 2^30: no overflow */
    if (y < rq->act_min) y = rq->act_min;
    if (y > 127) y = 127;
    return (int8_t)y;
}

/* k x k int8 convolution (groups = 1), taps outside the image add 0. */
void trit_conv_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights, int cout,
                  int k, int stride, int pad, const trit_requant_t *rq, int8_t *out,
                  int32_t *scratch /* TRIT_SCRATCH_INTS(cout) */);

/* k x k int8 depthwise convolution, taps outside the image add 0. */
void trit_dw_s8(const int8_t *in, int h, int w, int c, const int8_t *weights, int k,
                int stride, int pad, const trit_requant_t *rq, int8_t *out,
                int32_t *scratch /* TRIT_SCRATCH_INTS(c) */);

/* Residual add of two int8 tensors of n values: y = clamp((a * ma + b * mb + 2^(shift - 1))
 * >> shift, act_min, 127), ma and mb in [0, 2^15), shift in [1, 30]. */
void trit_add_s8(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
                 int32_t act_min, int8_t *out);

/* ---- int8-activation layers with ternary weights (IR v2) --------------------------------
 * int8 activations [H][W][C]; per output channel acc = wp * P - wn * N (P, N: sums of the
 * inputs under +1, -1 codes), requantised to int8 with trit_requant. */

/* wp * P - wn * N from d = P - N and t = P + N. */
static inline int32_t trit_ternary_acc(int32_t d, int32_t t, trit_scales_t s) {
    if (s.wp == s.wn) return s.wp * d;
    return s.wp * ((t + d) / 2) - s.wn * ((t - d) / 2);
}

/* trit_pw_ternary_s8 as plain loops over pixels, output channels and inputs: the optimised
 * flavours' path for shapes their vector or scratch layouts do not take. */
static inline void trit_pw_ternary_s8_loops(const int8_t *in, int pixels, int cin,
                                            const uint32_t *sign, const uint32_t *nz,
                                            trit_scales_t s, int cout,
                                            const trit_requant_t *rq, int8_t *out) {
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

/* Pointwise 1x1 ternary x int8 over `pixels` pixels; weights as the ternary pw/fc planes.
 * cin <= 4 * TRIT_SCRATCH_INTS(cout) (the codes of one output channel). */
void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch /* TRIT_SCRATCH_INTS(cout) */);

/* Depthwise k x k ternary x int8 (codes [C][K*K]), taps outside the image add 0. */
void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch /* TRIT_SCRATCH_INTS(c) */);

/* Residual add with the option-A shortcut: out[y][x][ch] = clamp((a[y][x][ch] * ma +
 * b[y * b_stride][x * b_stride][ch] * mb + 2^(shift - 1)) >> shift, act_min, 127), where b is
 * [.][b_w][b_c] and reads 0 for ch >= b_c. ma, mb in [0, 2^22), shift in [1, 30]: the sum
 * stays below 2^30 in int32. out may be a (in place: every flavour reads a value of a before
 * it writes the output at the same index); generated models use that. */
void trit_add_residual_s8(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w,
                          int b_c, int b_stride, int32_t ma, int32_t mb, int shift,
                          int32_t act_min, int8_t *out);

/* Global sum pooling of an int8 tensor: out[c] = sum over the pixels. */
void trit_global_sum_pool_s8(const int8_t *in, int pixels, int c, int32_t *out);

/* ---- binary convolutions on an int8 stream (IR v3) ----------------------------------------
 * The block input is int8 [H][W][C]; its sign feeds the binary kernels above, and the block's
 * last pointwise layer requantises its popcount sums to int8 for trit_add_residual_s8. */

/* Sign of `pixels` x c int8 values as a binary tensor [pixels][words(c)]: bit 1 where the
 * value is negative (-1), 0 where it is >= 0 (+1); unused bits 0. */
void trit_sign_pack_s8(const int8_t *in, int pixels, int c, uint32_t *out);

/* Pointwise 1x1 ternary x binary over `pixels` pixels with int8 outputs [pixels][cout]:
 * acc = wp * P - wn * N as in trit_pw_ternary_bin, requantised with trit_requant. */
void trit_pw_ternary_bin_s8(const uint32_t *in, int pixels, int cin, const uint32_t *sign,
                            const uint32_t *nz, trit_scales_t s, int cout,
                            const trit_requant_t *rq, int8_t *out,
                            int32_t *scratch /* TRIT_SCRATCH_INTS(cout) */);

/* Portable population count (no libgcc call). */
static inline int trit_popcount32(uint32_t v) {
    v = v - ((v >> 1) & 0x55555555u);
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    v = (v + (v >> 4)) & 0x0F0F0F0Fu;
    return (int)((v * 0x01010101u) >> 24);
}

/* wp * P - wn * N of one output channel over iw binary input words a (bit 1 = -1), its weight
 * planes sign / nz (iw words each): with pm = nz & ~sign and nm = nz & sign,
 * P = popcount(pm) - 2 popcount(pm & a), N = popcount(nm) - 2 popcount(nm & a). */
static inline int32_t trit_ternary_bin_acc(const uint32_t *a, const uint32_t *sign,
                                           const uint32_t *nz, int iw, trit_scales_t s) {
    int32_t p = 0, n = 0;
    for (int j = 0; j < iw; ++j) {
        const uint32_t pm = nz[j] & ~sign[j], nm = nz[j] & sign[j];
        p += trit_popcount32(pm) - 2 * trit_popcount32(pm & a[j]);
        n += trit_popcount32(nm) - 2 * trit_popcount32(nm & a[j]);
    }
    return s.wp * p - s.wn * n;
}

#ifdef __cplusplus
}
#endif
#endif /* TRIT_KERNELS_H */
