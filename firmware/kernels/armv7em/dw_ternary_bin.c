/* ARMv7E-M flavour: depthwise 3x3 (or smaller) ternary x binary convolution, bit-sliced over
 * 32 channels per word.
 *
 * For each output pixel and channel word, tap t gives x_t = (a_t ^ s_t) & nz_t (lanes whose
 * product is -1) and y_t = a_t & nz_t (lanes whose input is -1 under a non-zero weight); taps
 * outside the image give 0. count9() adds the nine vectors into 4-bit sliced counters cnt and
 * cnt_t. With n the number of in-image non-zero taps of a channel:
 *   acc = wp * n - (wp - wn) * cnt_t - (wp + wn) * cnt.
 * Equal scales (wp == wn = alpha): acc = alpha * (n - 2 cnt), and the threshold becomes a count
 * limit per channel that depends only on which taps are inside the image (at most nine border
 * classes per call); the output word is one sliced compare, no per-channel work per pixel.
 * Unequal scales: per-channel accumulators from the sliced counters, then threshold-and-pack.
 * With Helium (Cortex-M55), runs of interior pixels go four pixels per 128-bit vector (layers
 * of more than 16 channels; contiguous loads for one channel word at stride 1, gather loads
 * otherwise); layers of up to three channel words at stride 1 (two at stride 2) with the
 * generator's constants take every pixel four at a time, borders included
 * (dw_sliced_helium.h). */
#include <string.h>

#include "bitcount.h"
#include "dw_sliced_helium.h"
#include "trit/kernels.h"

#define MAX_TAPS 9
#define MAX_CLASSES 9

static void dw_general_k(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *acc, int in_y0,
                         int y0, int y1) {
    /* kernels larger than 3x3: channel by channel (not used by the shipped models) */
    const int ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c);
    for (int oy = y0; oy < y1; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
            for (int ch = 0; ch < c; ++ch) {
                int32_t sum = 0;
                for (int ky = 0; ky < k; ++ky)
                    for (int kx = 0; kx < k; ++kx) {
                        const int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                        const int code = codes[ch * k * k + ky * k + kx];
                        if (y < 0 || y >= h || x < 0 || x >= w || !code) continue;
                        const uint32_t word = in[((y - in_y0) * w + x) * words + (ch >> 5)];
                        const int neg = (int)((word >> (ch & 31)) & 1u);
                        sum += (code > 0 ? s.wp : -s.wn) * (neg ? -1 : 1);
                    }
                acc[ch] = sum;
            }
            trit_threshold_pack(acc, c, thr, 0, 0, out + ((oy - y0) * ow + ox) * words);
        }
}

/* The nine tap words of channel word g, as sliced 1-bit vectors, counted into b[0..3]:
 * XT(t) is the vector of tap t (3x3 position t = ky * 3 + kx). */
#define COUNT9(b, XT)                                                                          \
    do {                                                                                       \
        __typeof__((b)[0]) s1_, s2_, s3_, c1_, c2_, c3_, c4_, s5_, d1_;                        \
        FULL_ADD(s1_, c1_, XT(0), XT(1), XT(2));                                               \
        FULL_ADD(s2_, c2_, XT(3), XT(4), XT(5));                                               \
        FULL_ADD(s3_, c3_, XT(6), XT(7), XT(8));                                               \
        FULL_ADD((b)[0], c4_, s1_, s2_, s3_);                                                  \
        FULL_ADD(s5_, d1_, c1_, c2_, c3_);                                                     \
        (b)[1] = s5_ ^ c4_;                                                                    \
        const __typeof__((b)[0]) d2_ = s5_ & c4_;                                              \
        (b)[2] = d1_ ^ d2_;                                                                    \
        (b)[3] = d1_ & d2_;                                                                    \
    } while (0)

/* COUNT9's last steps from the three rows' full-adder sums s[3] and carries k[3]. */
#define COUNT9_FROM_ROWS(b, s, k)                                                              \
    do {                                                                                       \
        uint32_t c4_, s5_, d1_;                                                                \
        FULL_ADD((b)[0], c4_, (s)[0], (s)[1], (s)[2]);                                         \
        FULL_ADD(s5_, d1_, (k)[0], (k)[1], (k)[2]);                                            \
        (b)[1] = s5_ ^ c4_;                                                                    \
        const uint32_t d2_ = s5_ & c4_;                                                        \
        (b)[2] = d1_ ^ d2_;                                                                    \
        (b)[3] = d1_ & d2_;                                                                    \
    } while (0)

/* Bit 0 of bytes 0..3 of x as bits 0..3: one multiply lands the four bits at 28..31 (the other
 * partial products fall on distinct lower bits, so nothing carries into them). */
static inline uint32_t byte_lsbs(uint32_t x) {
    x &= 0x01010101u;
#if defined(__GNUC__) && defined(__thumb2__)
    __asm__("mul %0, %0, %1" : "+r"(x) : "r"(0x10204080u)); /* not shifts and adds */
#else
    x *= 0x10204080u;
#endif
    return x >> 28;
}

/* Four channels' code bytes of one tap, 9 bytes apart (codes [C][9]), as bytes 0..3 of a word. */
static inline uint32_t tap_bytes4(const uint8_t *e) {
    return e[0] | (uint32_t)e[9] << 8 | (uint32_t)e[18] << 16 | (uint32_t)e[27] << 24;
}

/* Bias planes [words][6]: bit l of plane j of word g = bit j of bias2[g * 32 + l] (6-bit two's
 * complement, bias2 in [-32, 30]; lanes past c: 0). Built once per call for class_limits. */
static void bias_planes(int c, const int32_t *bias2, uint32_t *bp) {
    for (int g = 0; g < TRIT_WORDS(c); ++g) {
        uint32_t b[6] = {0, 0, 0, 0, 0, 0};
        for (int l = 0; l < 32 && g * 32 + l < c; ++l) {
            const uint32_t v = (uint32_t)bias2[g * 32 + l];
#pragma GCC unroll 6
            for (int j = 0; j < 6; ++j) b[j] |= ((v >> j) & 1u) << l;
        }
        for (int j = 0; j < 6; ++j) bp[6 * g + j] = b[j];
    }
}

/* Per-channel biases bias2 (threshold and direction folded, see class_limits) and their
 * planes bp, for equal scales alpha: what class_limits needs. */
static void limit_bias_planes(int c, const trit_threshold_t *thr, int32_t alpha, int32_t *bias,
                              uint32_t *bp) {
    const int cols = thr->has_residual ? 3 : 1, col = thr->has_residual ? 1 : 0;
    for (int ch = 0; ch < c; ++ch) {
        const int32_t t = trit_threshold_at(thr, ch * cols + col);
        const int negative = (int)((thr->negative[ch >> 5] >> (ch & 31)) & 1u);
        /* +: limit = floor((n - ceil(t/a)) / 2); -: limit = ceil((n - floor(t/a)) / 2) - 1 */
        int32_t b = negative ? 1 - clamp_count(floor_div(t, alpha))
                             : -clamp_count(ceil_div(t, alpha));
        if (b > 30) b = 30;
        if (b < -30) b = -30;
        bias[ch] = b - 2 * negative; /* floor((n + b) / 2) - negative */
    }
    bias_planes(c, bias, bp);
}

/* Count-limit planes of one border class (valid-tap mask v, bit t = tap t inside the image)
 * for equal scales, 32 channels at a time in bit-sliced arithmetic. A channel's limit is
 * floor((n + bias2) / 2) clamped to [-1, n], with n its non-zero taps inside the image and
 * bias2 folding the threshold and the direction; the planes hold limit + 1 in [0, 10] (output
 * -1 iff cnt >= limit + 1, XOR direction). Per word: n from the taps' non-zero planes (sz
 * pairs, tap stride tw), u = n + bias2 (7-bit signed), f = u >> 1, then L = 0 where f < 0,
 * n + 1 where f > n, f + 1 elsewhere. */
static void class_limits(int words, int tw, uint32_t v, const uint32_t *sz, const uint32_t *bp,
                         uint32_t *planes /* [words][4] */) {
    uint32_t keep[MAX_TAPS];
#pragma GCC unroll 9
    for (int t = 0; t < MAX_TAPS; ++t) keep[t] = 0u - ((v >> t) & 1u);
    for (int g = 0; g < words; ++g) {
        const uint32_t *b = bp + 6 * g;
        uint32_t n[4], u1, u2, u3, u4, u5, u6, c;
#define XT(t) (sz[(t) * tw + 2 * g + 1] & keep[t])
        COUNT9(n, XT);
#undef XT
        c = n[0] & b[0]; /* bit 0 of u only decides the rounding of f: dropped */
        FULL_ADD(u1, c, n[1], b[1], c);
        FULL_ADD(u2, c, n[2], b[2], c);
        FULL_ADD(u3, c, n[3], b[3], c);
        u4 = b[4] ^ c;
        c &= b[4];
        u5 = b[5] ^ c;
        c &= b[5];
        u6 = b[5] ^ c; /* the sign of u: bias2's sign bit extended, plus the carry */
        /* f = u >> 1: bits u1 .. u5, sign u6, in [-16, 19]. f > n where bit 4 (f >= 16) is
         * set or bits 3..0 compare greater */
        uint32_t gt = u4 & ~n[3], eq = ~(u4 ^ n[3]);
        gt |= eq & u3 & ~n[2];
        eq &= ~(u3 ^ n[2]);
        gt |= eq & u2 & ~n[1];
        eq &= ~(u2 ^ n[1]);
        gt |= eq & u1 & ~n[0];
        gt |= u5;
        /* m = n where f > n, else f (then f <= n <= 9: four bits); L = m + 1, 0 where f < 0 */
        const uint32_t m0 = (n[0] & gt) | (u1 & ~gt), m1 = (n[1] & gt) | (u2 & ~gt);
        const uint32_t m2 = (n[2] & gt) | (u3 & ~gt), m3 = (n[3] & gt) | (u4 & ~gt);
        const uint32_t pos = ~u6;
        planes[g * 4] = ~m0 & pos;
        planes[g * 4 + 1] = (m1 ^ m0) & pos;
        planes[g * 4 + 2] = (m2 ^ (m0 & m1)) & pos;
        planes[g * 4 + 3] = (m3 ^ (m0 & m1 & m2)) & pos;
    }
}

/* The border classes of one call (equal scales, 3x3): up to MAX_CLASSES slots, each a tap
 * mask (key), its count-limit planes and, where the scratch holds them, its weights with the
 * taps outside the image cleared. */
typedef struct {
    int32_t *keys;         /* [MAX_CLASSES], -1 = free */
    uint32_t *planes;      /* [MAX_CLASSES][words][4] in scratch */
    const uint32_t *pre_planes; /* the generator's classes' planes (slots 0 .. pre_m - 1) */
    int pre_m;
    uint32_t *weights;     /* [MAX_CLASSES][9][words][2] when masked */
    uint32_t ready;        /* bit j: slot j's weights are filled */
    int have_bias, masked, words, c;
    const uint32_t *sz;    /* {sign, non-zero} pairs [9][words][2] */
    uint32_t *bp;          /* bias planes [words][6] (built on first need) */
    int32_t *bias;         /* [c] */
    const trit_threshold_t *thr;
    int32_t alpha;
} dw_classes_t;

/* The slot of class v, its limits (and, with weights set, its masked weights) computed on
 * first use; with more classes than slots the last slot is reused. */
static int class_slot(dw_classes_t *cl, uint32_t v, int weights) {
    const int tw = 2 * cl->words;
    int j = 0;
    while (j < MAX_CLASSES && cl->keys[j] != (int32_t)v && cl->keys[j] != -1) ++j;
    if (j == MAX_CLASSES) {
        j = MAX_CLASSES - 1;
        cl->keys[j] = -1;
    }
    if (cl->keys[j] == -1) {
        if (!cl->have_bias) limit_bias_planes(cl->c, cl->thr, cl->alpha, cl->bias, cl->bp);
        cl->have_bias = 1;
        cl->keys[j] = (int32_t)v;
        class_limits(cl->words, tw, v, cl->sz, cl->bp, cl->planes + j * cl->words * 4);
        cl->ready &= ~(1u << j);
    }
    if (weights && cl->masked && !((cl->ready >> j) & 1u)) {
        uint32_t *cw = cl->weights + j * MAX_TAPS * tw;
        for (int t = 0; t < MAX_TAPS; ++t) {
            const uint32_t keep = 0u - ((v >> t) & 1u);
            for (int i = 0; i < tw; ++i) cw[t * tw + i] = cl->sz[t * tw + i] & keep;
        }
        cl->ready |= 1u << j;
    }
    return j;
}

/* Slot j's count-limit planes: the generator's for its classes, else computed in scratch. */
static inline const uint32_t *class_plane(const dw_classes_t *cl, int j) {
    return (j < cl->pre_m ? cl->pre_planes : cl->planes) + j * cl->words * 4;
}

/* One output word from three input-row pointers r0..r2 at the window's left column (taps
 * `words` apart in a row): q holds the channel word's {sign, non-zero} pairs, tap stride
 * 2 * words (masked weights on border rows, where an outside row points at the first row
 * given). */
static inline __attribute__((always_inline)) uint32_t dw3x3_word_rows(
    const uint32_t *r0, const uint32_t *r1, const uint32_t *r2, int words, const uint32_t *q,
    const uint32_t *limits, uint32_t negative, uint32_t lanes) {
    const int tw = 2 * words;
#define XT(t) ((((t) / 3 == 0 ? r0 : (t) / 3 == 1 ? r1 : r2)[((t) % 3) * words] ^ q[(t) * tw]) & \
               q[(t) * tw + 1])
    uint32_t cnt[4];
    COUNT9(cnt, XT);
#undef XT
    return (sliced_ge4(cnt, limits) ^ negative) & lanes;
}

/* Equal scales, 3x3, every tap inside the image: the output word of channel word g at a pixel
 * whose top-left tap word is p (row pitch `pitch` words). sz: {sign, non-zero} pairs of
 * channel word g, tap stride 2 * words; limits: the interior class's 4 count-limit planes. */
static inline __attribute__((always_inline)) uint32_t
dw3x3_interior_word(const uint32_t *p, int pitch, int words, const uint32_t *sz,
                    const uint32_t *limits, uint32_t negative, uint32_t lanes) {
    const int tw = 2 * words;
#define XT(t) ((p[((t) / 3) * pitch + ((t) % 3) * words] ^ sz[(t) * tw]) & sz[(t) * tw + 1])
    uint32_t cnt[4];
    COUNT9(cnt, XT);
#undef XT
    return (sliced_ge4(cnt, limits) ^ negative) & lanes;
}

/* Two horizontally adjacent pixels of a one-word layer at stride 1 whose windows' columns are
 * inside the image: r0..r2 are the first one's tap rows at its left column (rows outside the
 * image point anywhere valid; sz then holds masked weights), the second's taps are one word
 * to the right. Every weight pair is
 * loaded once for both and the middle two tap columns are loaded once. */
static inline __attribute__((always_inline)) void dw3x3_interior_pair1(
    const uint32_t *r0, const uint32_t *r1, const uint32_t *r2, const uint32_t *sz,
    const uint32_t *limits, uint32_t negative, uint32_t lanes, uint32_t *dst) {
    /* row by row: each row's three taps go through one full adder per pixel at once, so only
     * the rows' sums and carries stay live (fewer registers than nine tap vectors a pixel) */
    uint32_t sa[3], ka[3], sb[3], kb[3];
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky) {
        const uint32_t *r = ky == 0 ? r0 : ky == 1 ? r1 : r2;
        const uint32_t c0 = r[0], c1 = r[1], c2 = r[2], c3 = r[3];
        const uint32_t *q = sz + 6 * ky;
        FULL_ADD(sa[ky], ka[ky], (c0 ^ q[0]) & q[1], (c1 ^ q[2]) & q[3], (c2 ^ q[4]) & q[5]);
        FULL_ADD(sb[ky], kb[ky], (c1 ^ q[0]) & q[1], (c2 ^ q[2]) & q[3], (c3 ^ q[4]) & q[5]);
    }
    uint32_t ca[4], cb[4];
    COUNT9_FROM_ROWS(ca, sa, ka);
    COUNT9_FROM_ROWS(cb, sb, kb);
    dst[0] = (sliced_ge4(ca, limits) ^ negative) & lanes;
    dst[1] = (sliced_ge4(cb, limits) ^ negative) & lanes;
}

/* words of an assembly run's table (below); the scratch layout holds two per channel word for
 * the edge runs on every core */
#define DW_RUN_WORDS 25

#if defined(__thumb2__) && !defined(__ARM_FEATURE_MVE)
#define DW_RUN_ASM 1
/* Runs of horizontally adjacent output pixels of a one-word layer at stride 1 in Thumb-2
 * assembly, every value in a register (GCC's code for the C pair above spills):
 *   dw3x3_run1: one pixel per pass (n >= 1 pixels), about 88 instructions a pixel;
 *   dw3x3_run2: layers of at most 16 channels, two pixels per pass in one word (lanes 0-15
 *   and 16-31, as the C pair path; an even n >= 2), about 104 instructions a pass.
 * r0..r2: the first pixel's three tap rows at its left column (rows outside the image point
 * anywhere valid, their taps masked in the table). Table tab (DW_RUN_WORDS words): the taps'
 * {sign, non-zero} pairs [9][2], the class's count-limit planes [4], ~negative, the lane
 * mask, the end of the output run (run2: weights, limits and ~negative duplicated into both
 * halves). Per row: three tap words, x = (a ^ sign) & non-zero, one full adder; the rows' sums
 * and carries are added into a 4-bit sliced count (ones, twos, fours, eights), compared with
 * the limits as SLICED_GE4 does. */
/* a row's three tap words into a, b, c, the row pointer moved to the next pixel: one word per
 * pixel at stride 1 (LDRD); taps B and C bytes on, the next pixel STEP bytes on; two pixels
 * per word (temporary m) */
#define DW_RUN_LOAD1(rp)                                                                       \
    "ldr %[c], [%[" rp "], #8]\n\t"                                                            \
    "ldrd %[a], %[b], [%[" rp "]], #4\n\t"
#define DW_RUN_LOADN(rp, B, C, STEP)                                                           \
    "ldr %[c], [%[" rp "], #" C "]\n\t"                                                        \
    "ldr %[b], [%[" rp "], #" B "]\n\t"                                                        \
    "ldr %[a], [%[" rp "]], #" STEP "\n\t"
#define DW_RUN_LOAD_W1S2(rp) DW_RUN_LOADN(rp, "4", "8", "8")
#define DW_RUN_LOAD_W2S1(rp) DW_RUN_LOADN(rp, "8", "16", "8")
#define DW_RUN_LOAD_W2S2(rp) DW_RUN_LOADN(rp, "8", "16", "16")
#define DW_RUN_LOAD_W3S1(rp) DW_RUN_LOADN(rp, "12", "24", "12")
#define DW_RUN_LOAD2(rp)                                                                       \
    "ldrd %[c], %[m], [%[" rp "], #8]\n\t"                                                     \
    "ldrd %[a], %[b], [%[" rp "]], #8\n\t"                                                     \
    "orr %[a], %[a], %[b], lsl #16\n\t"                                                        \
    "orr %[b], %[b], %[c], lsl #16\n\t"                                                        \
    "orr %[c], %[c], %[m], lsl #16\n\t"
/* the row's taps (table offset off) through weight registers W and m, then a full adder:
 * sum SUM, carry CARRY */
#define DW_RUN_TAPS(off, W, SUM, CARRY)                                                        \
    "ldrd %[" W "], %[m], [%[tab], #" off "]\n\t"                                              \
    "eor %[a], %[a], %[" W "]\n\t"                                                             \
    "and %[a], %[a], %[m]\n\t"                                                                 \
    "ldrd %[" W "], %[m], [%[tab], #" off "+8]\n\t"                                            \
    "eor %[b], %[b], %[" W "]\n\t"                                                             \
    "and %[b], %[b], %[m]\n\t"                                                                 \
    "ldrd %[" W "], %[m], [%[tab], #" off "+16]\n\t"                                           \
    "eor %[c], %[c], %[" W "]\n\t"                                                             \
    "and %[c], %[c], %[m]\n\t"                                                                 \
    "eor %[" W "], %[a], %[b]\n\t" /* u = a ^ b */                                             \
    "and %[a], %[a], %[b]\n\t"                                                                 \
    "and %[b], %[" W "], %[c]\n\t"                                                             \
    "eor %[" SUM "], %[" W "], %[c]\n\t"                                                       \
    "orr %[" CARRY "], %[a], %[b]\n\t"
/* one pass: the count, then lt = count < limit in b (m: planes not equal so far) */
#define DW_RUN_PASS(LOAD)                                                                      \
    LOAD("r0") DW_RUN_TAPS("0", "w", "p", "q")    /* row 0: sum p, carry q */                  \
    LOAD("r1") DW_RUN_TAPS("24", "w", "w", "a")   /* row 1: sum w, carry a */                  \
    "and %[b], %[p], %[w]\n\t"                    /* ones p, twos w, fours r */                \
    "eor %[p], %[p], %[w]\n\t"                                                                 \
    "eor %[w], %[q], %[a]\n\t"                                                                 \
    "and %[q], %[q], %[a]\n\t"                                                                 \
    "and %[a], %[w], %[b]\n\t"                                                                 \
    "eor %[w], %[w], %[b]\n\t"                                                                 \
    "orr %[r], %[q], %[a]\n\t"                                                                 \
    LOAD("r2") DW_RUN_TAPS("48", "q", "q", "a")   /* row 2: sum q, carry a */                  \
    "and %[b], %[p], %[q]\n\t"                    /* count planes p, q, c, r */                \
    "eor %[p], %[p], %[q]\n\t"                                                                 \
    "eor %[q], %[w], %[a]\n\t"                                                                 \
    "and %[w], %[w], %[a]\n\t"                                                                 \
    "and %[a], %[q], %[b]\n\t"                                                                 \
    "eor %[q], %[q], %[b]\n\t"                                                                 \
    "orr %[w], %[w], %[a]\n\t"                                                                 \
    "eor %[c], %[r], %[w]\n\t"                                                                 \
    "and %[r], %[r], %[w]\n\t"                                                                 \
    "ldr %[a], [%[tab], #84]\n\t"                 /* from the top plane down */                \
    "bic %[b], %[a], %[r]\n\t"                                                                 \
    "eor %[m], %[r], %[a]\n\t"                                                                 \
    "ldr %[a], [%[tab], #80]\n\t"                                                              \
    "eor %[w], %[c], %[a]\n\t"                                                                 \
    "bic %[a], %[a], %[c]\n\t"                                                                 \
    "bic %[a], %[a], %[m]\n\t"                                                                 \
    "orr %[b], %[b], %[a]\n\t"                                                                 \
    "orr %[m], %[m], %[w]\n\t"                                                                 \
    "ldr %[a], [%[tab], #76]\n\t"                                                              \
    "eor %[w], %[q], %[a]\n\t"                                                                 \
    "bic %[a], %[a], %[q]\n\t"                                                                 \
    "bic %[a], %[a], %[m]\n\t"                                                                 \
    "orr %[b], %[b], %[a]\n\t"                                                                 \
    "orr %[m], %[m], %[w]\n\t"                                                                 \
    "ldr %[a], [%[tab], #72]\n\t"                                                              \
    "bic %[a], %[a], %[p]\n\t"                                                                 \
    "bic %[a], %[a], %[m]\n\t"                                                                 \
    "orr %[b], %[b], %[a]\n\t"                                                                 \
    "ldrd %[a], %[w], [%[tab], #88]\n\t"          /* ~negative, lanes */                       \
    "eor %[b], %[b], %[a]\n\t"                    /* (~lt ^ negative) = lt ^ ~negative */
#define DW_RUN_STOREN(STEP)                                                                    \
    "and %[b], %[b], %[w]\n\t"                                                                 \
    "str %[b], [%[dst]], #" STEP "\n\t"
#define DW_RUN_STORE1 DW_RUN_STOREN("4")
#define DW_RUN_STORE2                                                                          \
    "and %[a], %[b], %[w]\n\t"                                                                 \
    "str %[a], [%[dst]], #4\n\t"                                                               \
    "and %[b], %[w], %[b], lsr #16\n\t"                                                        \
    "str %[b], [%[dst]], #4\n\t"
#define DW_RUN_FUNCTION(name, LOAD, STORE)                                                     \
    static void name(const uint32_t *r0, const uint32_t *r1, const uint32_t *r2,              \
                     const uint32_t *tab, uint32_t *dst) {                                     \
        uint32_t a, b, c, w, m, p, q, r;                                                       \
        __asm__ volatile("1:\n\t" DW_RUN_PASS(LOAD) STORE                                      \
                         "ldr %[a], [%[tab], #96]\n\t"                                         \
                         "cmp %[dst], %[a]\n\t"                                                \
                         "bne 1b\n\t"                                                          \
                         : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [dst] "+r"(dst),       \
                           [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [w] "=&r"(w),             \
                           [m] "=&r"(m), [p] "=&r"(p), [q] "=&r"(q), [r] "=&r"(r)              \
                         : [tab] "r"(tab)                                                      \
                         : "cc", "memory");                                                    \
    }
DW_RUN_FUNCTION(dw3x3_run1, DW_RUN_LOAD1, DW_RUN_STORE1)
DW_RUN_FUNCTION(dw3x3_run1_s2, DW_RUN_LOAD_W1S2, DW_RUN_STORE1)
DW_RUN_FUNCTION(dw3x3_run_w2, DW_RUN_LOAD_W2S1, DW_RUN_STOREN("8"))
DW_RUN_FUNCTION(dw3x3_run_w2_s2, DW_RUN_LOAD_W2S2, DW_RUN_STOREN("8"))
DW_RUN_FUNCTION(dw3x3_run_w3, DW_RUN_LOAD_W3S1, DW_RUN_STOREN("12"))
DW_RUN_FUNCTION(dw3x3_run2, DW_RUN_LOAD2, DW_RUN_STORE2)

/* The assembly runs' tables (DW_RUN_WORDS words each) of the `words` channel words of a
 * class: q the {sign, non-zero} pairs of word 0 (taps ts words apart, word g 2 g on), lim the
 * count-limit planes of word 0 (word g 4 g on). shift 0: tap slot t holds tap t. An edge
 * pixel (only its left or right column outside the image) runs with its row pointers one
 * column inwards: shift 1 (left edge) puts column kx + 1's taps in slot column kx, shift -1
 * (right edge) column kx - 1's; the slot whose column lies beyond holds zeros. */
static void dw3x3_run_tables(uint32_t *tabs, int words, const uint32_t *q, int ts,
                             const uint32_t *lim, const uint32_t *negative, uint32_t last_mask,
                             int shift) {
    for (int g = 0; g < words; ++g) {
        uint32_t *tab = tabs + g * DW_RUN_WORDS;
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ++ky)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; ++kx) {
                const int t = 3 * ky + kx, from = kx + shift;
                const int inside = from >= 0 && from < 3;
                tab[2 * t] = inside ? q[(3 * ky + from) * ts + 2 * g] : 0u;
                tab[2 * t + 1] = inside ? q[(3 * ky + from) * ts + 2 * g + 1] : 0u;
            }
        for (int b = 0; b < 4; ++b) tab[2 * MAX_TAPS + b] = lim[4 * g + b];
        tab[22] = ~negative[g];
        tab[23] = g == words - 1 ? last_mask : ~0u;
    }
}

/* The assembly run of a layer shape: `words` channel words at `stride`; 0 where there is none
 * (the C paths then run). */
typedef void (*dw_run_fn)(const uint32_t *, const uint32_t *, const uint32_t *,
                          const uint32_t *, uint32_t *);
static dw_run_fn dw3x3_run_for(int words, int stride) {
    if (words == 1) return stride == 1 ? dw3x3_run1 : stride == 2 ? dw3x3_run1_s2 : 0;
    if (words == 2) return stride == 1 ? dw3x3_run_w2 : stride == 2 ? dw3x3_run_w2_s2 : 0;
    return words == 3 && stride == 1 ? dw3x3_run_w3 : 0;
}

/* n >= 1 output pixels from dst, every channel word through `run` with its table (tabs,
 * dw3x3_run_tables; the end word is set here): r0..r2 the first pixel's tap rows at its left
 * column. */
static void dw3x3_runs(dw_run_fn run, int words, const uint32_t *r0, const uint32_t *r1,
                       const uint32_t *r2, uint32_t *tabs, uint32_t *dst, int n) {
    for (int g = 0; g < words; ++g) {
        uint32_t *tab = tabs + g * DW_RUN_WORDS;
        tab[24] = (uint32_t)(uintptr_t)(dst + g + n * words);
        run(r0 + g, r1 + g, r2 + g, tab, dst + g);
    }
}

/* The edge runs' tables (left edge, then right edge where the map has one) from their classes'
 * count limits: the windows with only the left column outside (taps 1, 2, 4, 5, 7, 8 inside)
 * or only the right one (0, 1, 3, 4, 6, 7). */
static void dw3x3_edge_tables(uint32_t *tabs, dw_classes_t *cl, int words, const uint32_t *sz,
                              int tw, const uint32_t *negative, uint32_t last_mask, int right) {
    dw3x3_run_tables(tabs, words, sz, tw, class_plane(cl, class_slot(cl, 0x1B6, 0)), negative,
                     last_mask, 1);
    if (right)
        dw3x3_run_tables(tabs + words * DW_RUN_WORDS, words, sz, tw,
                         class_plane(cl, class_slot(cl, 0x0DB, 0)), negative, last_mask, -1);
}
#endif

#ifdef __ARM_FEATURE_MVE
#include <arm_mve.h>

/* Helium: four consecutive interior output pixels (stride 1, one channel word) at once, pixel j
 * in 32-bit lane j: their tap words are four consecutive words of each input row. */
static inline __attribute__((always_inline)) void dw3x3_interior_quad(
    const uint32_t *p, int pitch, const uint32_t *sz, const uint32_t *limits, uint32_t negative,
    uint32_t lanes, uint32_t *dst) {
#define XT(t) ((vld1q_u32(p + ((t) / 3) * pitch + (t) % 3) ^ sz[2 * (t)]) & sz[2 * (t) + 1])
    uint32x4_t cnt[4], ge;
    COUNT9(cnt, XT);
#undef XT
    SLICED_GE4(ge, cnt, limits);
    vst1q_u32(dst, (ge ^ negative) & lanes);
}

/* The same for any stride and channel word g of `words`: the four pixels' tap words are
 * `at` words apart (gather loads), their output words `words` apart (scatter store); sz and
 * limits are those of word g (taps 2 * words apart). */
static inline __attribute__((always_inline)) void dw3x3_interior_quad_gather(
    const uint32_t *p, int pitch, int words, uint32x4_t at, const uint32_t *sz,
    const uint32_t *limits, uint32_t negative, uint32_t lanes, uint32_t *dst, uint32x4_t to) {
    const int tw = 2 * words;
#define XT(t)                                                                                  \
    ((vldrwq_gather_shifted_offset_u32(p + ((t) / 3) * pitch + ((t) % 3) * words, at) ^        \
      sz[(t) * tw]) & sz[(t) * tw + 1])
    uint32x4_t cnt[4], ge;
    COUNT9(cnt, XT);
#undef XT
    SLICED_GE4(ge, cnt, limits);
    vstrwq_scatter_shifted_offset_u32(dst, to, (ge ^ negative) & lanes);
}
#endif

void trit_dw_ternary_bin(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch,
                         const uint32_t *sliced, int in_y0, int y0, int y1) {
    if (k > 3) {
        dw_general_k(in, h, w, c, codes, s, k, stride, pad, thr, out, scratch, in_y0, y0, y1);
        return;
    }
#ifdef __ARM_FEATURE_MVE
    if (k == 3 && sliced && s.wp == s.wn && s.wp > 0 &&
        dw3x3_helium_rows(in, h, w, c, stride, pad, thr, out, sliced, in_y0, y0, y1))
        return;
#endif
    const int ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c), tw = 2 * words;
    const int equal = s.wp == s.wn && s.wp > 0;
    /* scratch: {sign, non-zero} plane pairs [9 taps at their 3x3 position][words][2] (zero for
     * k < 3), zero words [words], tap masks [c], then equal scales: biases [c], class keys
     * [9], class count-limit planes [9][words][4], pair duplicates [22], bias planes
     * [words][6], the edge runs' tables [2][words][25], class weights [9][9][words][2] where
     * they fit; unequal scales: accumulators [c] */
    /* pre: the tap planes and the classes' count limits come from the code generator */
    const int pre = equal && k == 3 && sliced;
    uint32_t *szw = (uint32_t *)scratch, *zeros = szw + MAX_TAPS * tw;
    const uint32_t *sz = pre ? sliced : szw;
    int32_t *mask = (int32_t *)(zeros + words);
    int32_t *bias = mask + c, *acc = mask + c;
    int32_t *keys = bias + c;
    uint32_t *class_planes = (uint32_t *)(keys + MAX_CLASSES);
    /* c <= 16: two interior pixels share a word (lanes 0-15 and 16-31); planes and limits
     * duplicated into both halves, after the class planes */
    uint32_t *dup = class_planes + MAX_CLASSES * words * 4;
    uint32_t *bp = dup + 2 * MAX_TAPS + 4; /* equal scales: bias planes [words][6] */
    /* the edge runs' tables [2][words][DW_RUN_WORDS] (left edge, right edge), after the
     * bias planes, then each border class's {sign, non-zero} pairs with the taps outside the
     * image cleared [MAX_CLASSES][9][words][2] (the layout of sz): a capped scratch that cannot
     * hold the classes' weights may still hold the edge tables */
    uint32_t *edge_tabs = bp + 6 * words;
    uint32_t *class_w = edge_tabs + 2 * DW_RUN_WORDS * words;
    for (int i = pre ? MAX_TAPS * tw : 0; i < MAX_TAPS * tw + words; ++i) szw[i] = 0;
    if (k == 3 && !pre) {
        /* tap t's planes, four channels at a time: their code bytes (9 apart) in one word,
         * then bit 0 (non-zero) and bit 7 (-1) of each byte gathered by one multiply */
        for (int g = 0; g < words; ++g)
            for (int t = 0; t < MAX_TAPS; ++t) {
                const uint8_t *cd = (const uint8_t *)codes + g * 32 * 9 + t;
                uint32_t nzw = 0, negw = 0;
                if (g * 32 + 32 <= c) { /* a full word: offsets and shifts constant */
#pragma GCC unroll 8
                    for (int q = 0; q < 8; ++q) {
                        const uint32_t b = tap_bytes4(cd + 36 * q);
                        nzw |= byte_lsbs(b) << (4 * q);
                        negw |= byte_lsbs(b >> 7) << (4 * q);
                    }
                } else { /* the last word's channels: by four, then one by one */
                    int j = 0;
                    for (; g * 32 + j + 4 <= c; j += 4) {
                        const uint32_t b = tap_bytes4(cd + 9 * j);
                        nzw |= byte_lsbs(b) << j;
                        negw |= byte_lsbs(b >> 7) << j;
                    }
                    for (; g * 32 + j < c; ++j) {
                        const uint32_t v = cd[9 * j];
                        nzw |= (v & 1u) << j;
                        negw |= (v >> 7) << j;
                    }
                }
                szw[t * tw + 2 * g] = negw;
                szw[t * tw + 2 * g + 1] = nzw;
            }
        if (!equal) /* the per-channel 9-bit masks of the unequal-scale path */
            for (int ch = 0; ch < c; ++ch) {
                const int8_t *cd = codes + ch * 9;
                mask[ch] = (int32_t)(byte_lsbs(trit_load_u32(cd)) |
                                     byte_lsbs(trit_load_u32(cd + 4)) << 4 |
                                     ((uint32_t)cd[8] & 1u) << 8);
            }
    } else if (k < 3)
    for (int ch = 0; ch < c; ++ch) {
        int32_t msk = 0;
        for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
                const int code = codes[ch * k * k + ky * k + kx], t = ky * 3 + kx;
                if (!code) continue;
                msk |= 1 << t;
                uint32_t *pair = szw + t * tw + 2 * (ch >> 5);
                pair[1] |= 1u << (ch & 31);
                if (code < 0) pair[0] |= 1u << (ch & 31);
            }
        mask[ch] = msk;
    }
    int have_bias = 0; /* bias planes built (for classes the generator did not supply) */
    dw_classes_t cl = {.keys = keys, .planes = class_planes, .weights = class_w, .words = words,
                       .c = c, .sz = sz, .bp = bp, .bias = bias, .thr = thr, .alpha = s.wp};
    if (pre) { /* the generator's classes in the first slots (keys of free slots -1), limits
                * read in place */
        const uint32_t m = sliced[MAX_TAPS * tw];
        memcpy(keys, sliced + MAX_TAPS * tw + 1, sizeof(int32_t) * MAX_CLASSES);
        cl.pre_planes = sliced + MAX_TAPS * tw + 1 + MAX_CLASSES;
        cl.pre_m = m < MAX_CLASSES ? (int)m : MAX_CLASSES;
    } else if (equal) {
        for (int i = 0; i < MAX_CLASSES; ++i) keys[i] = -1;
        limit_bias_planes(c, thr, s.wp, bias, bp);
        have_bias = 1;
    }
    const int last_lanes = c - (words - 1) * 32;
    const uint32_t last_mask = last_lanes == 32 ? ~0u : (1u << last_lanes) - 1u;
    /* output pixels whose 3x3 window lies inside the image */
    const int ins_y0 = (pad + stride - 1) / stride, ins_y1 = (h - 3 + pad) / stride;
    const int ins_x0 = (pad + stride - 1) / stride, ins_x1 = (w - 3 + pad) / stride;
    const int masked = equal && k == 3 &&
                       (int)(class_w + MAX_CLASSES * MAX_TAPS * tw - (uint32_t *)scratch) <=
                           TRIT_SCRATCH_INTS(c);
    cl.have_bias = have_bias;
    cl.masked = masked;
    uint32_t recent_v[2] = {~0u, ~0u}; /* border pixels' last two classes and their slots */
    int recent_slot[2] = {-1, -1};
    const uint32_t *interior = 0;
    if (equal && k == 3 && ins_y0 <= ins_y1 && ins_x0 <= ins_x1)
        interior = class_plane(&cl, class_slot(&cl, 0x1FF, 0)); /* read through sz */
    const int pairs = interior && c <= 16 &&
                      (int)(dup + 2 * MAX_TAPS + 4 - (uint32_t *)scratch) <= TRIT_SCRATCH_INTS(c);
    if (pairs) {
        for (int i = 0; i < 2 * MAX_TAPS; ++i) dup[i] = sz[i] | (sz[i] << 16);
        for (int b = 0; b < 4; ++b) /* lanes past c hold limits too: keep the low half's out */
            dup[2 * MAX_TAPS + b] = (interior[b] & 0xFFFFu) | (interior[b] << 16);
    }
#ifdef DW_RUN_ASM
    /* assembly runs for masked border rows and interior pixels (equal scales, 3x3); the
     * interior class's tables built once */
    const dw_run_fn run = equal && k == 3 ? dw3x3_run_for(words, stride) : 0;
    uint32_t run_tabs[3 * DW_RUN_WORDS];
    if (run && interior && !pairs)
        dw3x3_run_tables(run_tabs, words, sz, tw, interior, thr->negative, last_mask, 0);
    /* on rows inside the image, the pixels whose window has only its left column (ox 0) or
     * only its right column (ox edge_r) outside: one-pixel assembly runs through shifted
     * tables (dw3x3_run_tables), built on first use */
    const int edge_r = (w - 1) % stride == 0 ? (w - 1) / stride : -1;
    const int edges = run && interior && pad == 1 && w >= 4 &&
                      (int)(edge_tabs + 2 * words * DW_RUN_WORDS - (uint32_t *)scratch) <=
                          TRIT_SCRATCH_INTS(c);
    int edges_ready = 0;
    /* a row inside the image is then three runs: the left edge, the interior, the right edge
     * (where there is one: at stride 2 an even width has none) */
    const int right_edge = edge_r == ow - 1;
    const int row_runs = edges && !pairs && ins_x0 == 1 && ins_x1 == ow - 1 - right_edge;
#endif
    for (int oy = y0; oy < y1; ++oy) {
        const uint32_t *row[3]; /* rows outside the image point at the first row given */
        int row_ok[3];
        for (int ky = 0; ky < 3; ++ky) {
            const int y = oy * stride + ky - pad;
            row_ok[ky] = ky < k && y >= 0 && y < h;
            row[ky] = in + (row_ok[ky] ? y - in_y0 : 0) * w * words;
        }
        const int row_inside = oy >= ins_y0 && oy <= ins_y1;
#ifdef DW_RUN_ASM
        if (row_runs && row_inside) {
            if (!edges_ready) {
                dw3x3_edge_tables(edge_tabs, &cl, words, sz, tw, thr->negative, last_mask,
                                  edge_r >= 0);
                edges_ready = 1;
            }
            const int pitch = w * words;
            const uint32_t *p = row[0]; /* the left edge's window one column inwards: x 0 */
            uint32_t *dst = out + (oy - y0) * ow * words;
            dw3x3_runs(run, words, p, p + pitch, p + 2 * pitch, edge_tabs, dst, 1);
            p += (stride - 1) * words; /* pixel 1's window: x stride - 1 */
            dw3x3_runs(run, words, p, p + pitch, p + 2 * pitch, run_tabs, dst + words,
                       ins_x1);
            if (right_edge) {
                p = row[0] + (w - 3) * words; /* one column inwards: x w - 3 */
                dw3x3_runs(run, words, p, p + pitch, p + 2 * pitch,
                           edge_tabs + words * DW_RUN_WORDS, dst + (ow - 1) * words, 1);
            }
            continue;
        }
#endif
        for (int ox = 0; ox < ow; ++ox) {
            uint32_t *dst = out + ((oy - y0) * ow + ox) * words;
            if (masked && !row_inside && ox >= ins_x0 && ox <= ins_x1) {
                /* a run on a border row with every column inside: one class for the run, its
                 * masked weights read through the rows (outside rows point at the first row
                 * given) */
                const uint32_t v = (row_ok[0] ? 0x7u : 0u) | (row_ok[1] ? 0x38u : 0u) |
                                   (row_ok[2] ? 0x1C0u : 0u);
                const int cls = class_slot(&cl, v, 1);
                const uint32_t *lim = class_plane(&cl, cls);
                const uint32_t *cw = class_w + cls * MAX_TAPS * tw;
                const int x0 = (ox * stride - pad) * words, step = stride * words;
                const uint32_t *a0 = row[0] + x0, *a1 = row[1] + x0, *a2 = row[2] + x0;
#ifdef DW_RUN_ASM
                if (run) {
                    uint32_t tabs[3 * DW_RUN_WORDS];
                    dw3x3_run_tables(tabs, words, cw, tw, lim, thr->negative, last_mask, 0);
                    dw3x3_runs(run, words, a0, a1, a2, tabs, dst, ins_x1 - ox + 1);
                    ox = ins_x1;
                    continue;
                }
#else
                if (words == 1 && stride == 1)
                    for (; ox + 1 <= ins_x1; ox += 2, a0 += 2, a1 += 2, a2 += 2, dst += 2)
                        dw3x3_interior_pair1(a0, a1, a2, cw, lim, thr->negative[0], last_mask,
                                             dst);
#endif
                for (; ox <= ins_x1; ++ox, a0 += step, a1 += step, a2 += step, dst += words)
                    for (int g = 0; g < words; ++g)
                        dst[g] = dw3x3_word_rows(a0 + g, a1 + g, a2 + g, words, cw + 2 * g,
                                                 lim + 4 * g, thr->negative[g],
                                                 g == words - 1 ? last_mask : ~0u);
                --ox; /* the loop's ++ox moves to the first pixel after the run */
                continue;
            }
            if (interior && row_inside && ox >= ins_x0 && ox <= ins_x1) {
                /* a run of interior pixels; the word count as a constant where it is 1 or 2 */
                const int pitch = w * words, step = stride * words;
                const uint32_t *p = row[0] + (ox * stride - pad) * words;
                const uint32_t neg0 = thr->negative[0];
#ifdef DW_RUN_ASM
                if (run && !pairs) { /* the assembly run of the layer's shape */
                    dw3x3_runs(run, words, p, p + pitch, p + 2 * pitch, run_tabs, dst,
                               ins_x1 - ox + 1);
                    ox = ins_x1;
                    continue;
                }
#endif
                if (pairs) {
                    const uint32_t neg2 = neg0 | (neg0 << 16);
#ifdef DW_RUN_ASM
                    if (stride == 1 && ox + 1 <= ins_x1) {
                        uint32_t tab[DW_RUN_WORDS];
                        for (int i = 0; i < 2 * MAX_TAPS + 4; ++i) tab[i] = dup[i];
                        tab[22] = ~neg2;
                        tab[23] = last_mask;
                        const int n = (ins_x1 - ox + 1) & ~1;
                        tab[24] = (uint32_t)(uintptr_t)(dst + n);
                        dw3x3_run2(p, p + pitch, p + 2 * pitch, tab, dst);
                        ox += n;
                        p += n;
                        dst += n;
                    }
#endif
                    for (; ox + 1 <= ins_x1; ox += 2, p += 2 * step, dst += 2) {
                        const uint32_t *q = p + step;
#define XT(t) (((p[((t) / 3) * pitch + (t) % 3] | (q[((t) / 3) * pitch + (t) % 3] << 16)) ^ \
                dup[2 * (t)]) & dup[2 * (t) + 1])
                        uint32_t cnt[4];
                        COUNT9(cnt, XT);
#undef XT
                        const uint32_t word = sliced_ge4(cnt, dup + 2 * MAX_TAPS) ^ neg2;
                        dst[0] = word & last_mask;
                        dst[1] = (word >> 16) & last_mask;
                    }
                    for (; ox <= ins_x1; ++ox, p += step, dst += 1)
                        dst[0] = dw3x3_interior_word(p, pitch, 1, sz, interior, neg0, last_mask);
                } else if (words == 1) {
#ifdef __ARM_FEATURE_MVE
                    if (stride == 1)
                        for (; ox + 3 <= ins_x1; ox += 4, p += 4, dst += 4)
                            dw3x3_interior_quad(p, pitch, sz, interior, neg0, last_mask, dst);
#endif
#if !defined(DW_RUN_ASM) && !defined(__ARM_FEATURE_MVE)
                    if (stride == 1)
                        for (; ox + 1 <= ins_x1; ox += 2, p += 2, dst += 2)
                            dw3x3_interior_pair1(p, p + pitch, p + 2 * pitch, sz, interior, neg0,
                                                 last_mask, dst);
#endif
                    for (; ox <= ins_x1; ++ox, p += step, dst += 1)
                        dst[0] = dw3x3_interior_word(p, pitch, 1, sz, interior, neg0, last_mask);
                } else if (words == 2) {
                    const uint32_t neg1 = thr->negative[1];
#ifdef __ARM_FEATURE_MVE
                    for (; ox + 3 <= ins_x1; ox += 4, p += 4 * step, dst += 8) {
                        const uint32x4_t at = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)step);
                        const uint32x4_t to = vmulq_n_u32(vidupq_n_u32(0, 1), 2u);
                        dw3x3_interior_quad_gather(p, pitch, 2, at, sz, interior, neg0, ~0u,
                                                   dst, to);
                        dw3x3_interior_quad_gather(p + 1, pitch, 2, at, sz + 2, interior + 4,
                                                   neg1, last_mask, dst + 1, to);
                    }
#endif
                    for (; ox <= ins_x1; ++ox, p += step, dst += 2) {
                        dst[0] = dw3x3_interior_word(p, pitch, 2, sz, interior, neg0, ~0u);
                        dst[1] = dw3x3_interior_word(p + 1, pitch, 2, sz + 2, interior + 4, neg1,
                                                     last_mask);
                    }
                } else {
#ifdef __ARM_FEATURE_MVE
                    for (; ox + 3 <= ins_x1; ox += 4, p += 4 * step, dst += 4 * words) {
                        const uint32x4_t at = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)step);
                        const uint32x4_t to = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)words);
                        for (int g = 0; g < words; ++g)
                            dw3x3_interior_quad_gather(p + g, pitch, words, at, sz + 2 * g,
                                                       interior + 4 * g, thr->negative[g],
                                                       g == words - 1 ? last_mask : ~0u,
                                                       dst + g, to);
                    }
#endif
                    if (words == 3) /* the word count as a constant: tap offsets fold */
                        for (; ox <= ins_x1; ++ox, p += step, dst += 3)
                            for (int g = 0; g < 3; ++g)
                                dst[g] = dw3x3_interior_word(p + g, pitch, 3, sz + 2 * g,
                                                             interior + 4 * g, thr->negative[g],
                                                             g == 2 ? last_mask : ~0u);
                    for (; ox <= ins_x1; ++ox, p += step, dst += words)
                        for (int g = 0; g < words; ++g)
                            dst[g] = dw3x3_interior_word(p + g, pitch, words, sz + 2 * g,
                                                         interior + 4 * g, thr->negative[g],
                                                         g == words - 1 ? last_mask : ~0u);
                }
                --ox; /* the loop's ++ox moves to the first pixel after the run */
                continue;
            }
#ifdef DW_RUN_ASM
            if (edges && row_inside && (ox == 0 || ox == edge_r)) {
                if (!edges_ready) {
                    dw3x3_edge_tables(edge_tabs, &cl, words, sz, tw, thr->negative, last_mask,
                                      edge_r >= 0);
                    edges_ready = 1;
                }
                const int left = ox == 0, pitch = w * words;
                const uint32_t *p = row[0] + (ox * stride - pad + (left ? 1 : -1)) * words;
                dw3x3_runs(run, words, p, p + pitch, p + 2 * pitch,
                           edge_tabs + (left ? 0 : words * DW_RUN_WORDS), dst, 1);
                continue;
            }
#endif
            /* border (or unequal scales): taps outside the image read zeros, masked out */
            uint32_t cols = 0; /* bit kx = column kx inside */
            int xw[3];         /* word offsets of the three columns (0 outside: a valid word) */
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; ++kx) {
                const int x = ox * stride + kx - pad, ok = kx < k && x >= 0 && x < w;
                xw[kx] = ok ? x * words : 0;
                cols |= (uint32_t)ok << kx;
            }
            const uint32_t v = (row_ok[0] ? cols : 0u) | (row_ok[1] ? cols << 3 : 0u) |
                               (row_ok[2] ? cols << 6 : 0u); /* bit t = tap t inside */
            const uint32_t *limits = 0;
            uint32_t *cw = 0;
            if (equal) {
                /* the last two classes (a row's left and right border pixels) skip the search */
                int cls;
                if (v == recent_v[0]) {
                    cls = recent_slot[0];
                } else if (v == recent_v[1]) {
                    cls = recent_slot[1];
                } else {
                    cls = class_slot(&cl, v, 1);
                    /* the older entry moves down, unless its slot was just reused */
                    recent_v[1] = recent_slot[0] == cls ? ~0u : recent_v[0];
                    recent_slot[1] = recent_slot[0];
                    recent_v[0] = v;
                    recent_slot[0] = cls;
                }
                limits = class_plane(&cl, cls);
                cw = class_w + cls * MAX_TAPS * tw;
                if (masked) { /* the class's weights mask the outside taps */
                    const uint32_t *r0 = row[0], *r1 = row[1], *r2 = row[2];
                    const int x0 = xw[0], x1 = xw[1], x2 = xw[2];
#define TAPW(t, g)                                                                             \
    ((t) / 3 == 0 ? r0 : (t) / 3 == 1 ? r1 : r2)[((t) % 3 == 0 ? x0 : (t) % 3 == 1 ? x1 : x2) + (g)]
                    if (words == 1) {
#define XT(t) ((TAPW(t, 0) ^ cw[2 * (t)]) & cw[2 * (t) + 1])
                        uint32_t cnt[4];
                        COUNT9(cnt, XT);
#undef XT
                        dst[0] = (sliced_ge4(cnt, limits) ^ thr->negative[0]) & last_mask;
                    } else {
                        for (int g = 0; g < words; ++g) {
                            const uint32_t *q = cw + 2 * g;
#define XT(t) ((TAPW(t, g) ^ q[(t) * tw]) & q[(t) * tw + 1])
                            uint32_t cnt[4];
                            COUNT9(cnt, XT);
#undef XT
                            const uint32_t lanes = g == words - 1 ? last_mask : ~0u;
                            dst[g] = (sliced_ge4(cnt, limits + g * 4) ^ thr->negative[g]) & lanes;
                        }
                    }
#undef TAPW
                    continue;
                }
            }
            const uint32_t *tap[MAX_TAPS];
            uint32_t valid[MAX_TAPS];
#pragma GCC unroll 9
            for (int t = 0; t < MAX_TAPS; ++t) {
                const uint32_t inside = (v >> t) & 1u;
                tap[t] = inside ? row[t / 3] + xw[t % 3] : zeros;
                valid[t] = 0u - inside;
            }
            if (equal) {
                for (int g = 0; g < words; ++g) {
                    const uint32_t *q = sz + 2 * g;
                    uint32_t cnt[4];
#define XT(t) ((tap[t][g] ^ q[(t) * tw]) & q[(t) * tw + 1] & valid[t])
                    COUNT9(cnt, XT);
#undef XT
                    const uint32_t lanes = g == words - 1 ? last_mask : ~0u;
                    dst[g] = (sliced_ge4(cnt, limits + g * 4) ^ thr->negative[g]) & lanes;
                }
            } else {
                for (int g = 0; g < words; ++g) {
                    const uint32_t *q = sz + 2 * g;
                    uint32_t cnt[4], cnt_t[4];
#define XT(t) ((tap[t][g] ^ q[(t) * tw]) & q[(t) * tw + 1] & valid[t])
#define YT(t) (tap[t][g] & q[(t) * tw + 1])
                    COUNT9(cnt, XT);
                    COUNT9(cnt_t, YT);
#undef XT
#undef YT
                    for (int ch = g * 32; ch < c && ch < g * 32 + 32; ++ch) {
                        const int n = (int)byte_sum(nibble_counts((uint32_t)mask[ch] & v), 0u);
                        acc[ch] = s.wp * n - (s.wp - s.wn) * sliced_lane4(cnt_t, ch & 31) -
                                  (s.wp + s.wn) * sliced_lane4(cnt, ch & 31);
                    }
                }
                trit_threshold_pack(acc, c, thr, 0, 0, dst);
            }
        }
    }
}
