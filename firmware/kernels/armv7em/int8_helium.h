/* ARMv7E-M flavour on cores with Helium (MVE, Cortex-M55): the int8 comparison network's
 * convolutions the way CMSIS-NN's MVE kernels run them, so that the comparison on the M55 is
 * against vector int8 code, not the scalar SMLAD code of the M4.
 * 1x1: two pixels by two output channels per pass, one VMLADAVA per 16 inputs, pixel and
 * channel (whole groups unpredicated, a group of 8 in 16-bit lanes, the rest under a tail
 * predicate), the pixel pair's sums kept per channel, then requantised four channels per
 * vector. 3x3 RGB input: two VMLADAV per channel and pixel. 3x3 depthwise (c a multiple of
 * 8): 8 channels per group, per tap a widening load of the inputs to 16-bit lanes, VMULLB and
 * VMULLT (even and odd channels' products in 32-bit lanes) and two VADD, in assembly; other
 * depthwise layers take the scalar path. Requantisation on vectors: VMULH.S32 gives
 * ((acc + bias) * mult) >> 32, a VSHL by 33 - shift (a right shift), the last rounding step
 * and the clamp. Included by int8_conv.c when __ARM_FEATURE_MVE is defined. */
#include <arm_mve.h>

/* trit_requant of four sums acc with their channels' parameters (nshift: 33 - shift);
 * ((hi >> (shift - 33)) + 1) >> 1 with a VSHL by nshift (a negative count shifts right). */
static inline __attribute__((always_inline)) int32x4_t
requant4_helium(int32x4_t acc, int32x4_t bias, int32x4_t mult, int32x4_t nshift,
                int32_t act_min) {
    const int32x4_t hi = vmulhq_s32(vaddq_s32(acc, bias), mult);
    int32x4_t v = vshlq_s32(hi, nshift);
    v = vshrq_n_s32(vaddq_n_s32(v, 1), 1);
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(act_min)), vdupq_n_s32(127));
}

/* Requantise sums[cout] into y, four channels per vector (the last cout % 4 under a tail
 * predicate). */
static inline void requant_row_helium(const int32_t *sums, int cout, const trit_requant_t *rq,
                                      int8_t *y) {
    const int32_t *bias = rq->bias, *mult = rq->mult, *shift = rq->shift;
    const int32_t act_min = rq->act_min;
    const int32x4_t k33 = vdupq_n_s32(33);
    const int8_t *const end = y + (cout & ~3);
    for (; y != end; y += 4, sums += 4, bias += 4, mult += 4, shift += 4)
        vstrbq_s32(y, requant4_helium(vld1q_s32(sums), vld1q_s32(bias), vld1q_s32(mult),
                                      vsubq_s32(k33, vld1q_s32(shift)), act_min));
    if (cout & 3) {
        const mve_pred16_t p = vctp32q((uint32_t)(cout & 3));
        vstrbq_p_s32(y, requant4_helium(vldrwq_z_s32(sums, p), vldrwq_z_s32(bias, p),
                                        vldrwq_z_s32(mult, p),
                                        vsubq_s32(k33, vldrwq_z_s32(shift, p)), act_min), p);
    }
}

/* The 3x3 RGB layer (weights [cout][27]): two pixels at a time, each output channel's 27
 * products per pixel as two VMLADAV (16 lanes, then 11 under a tail predicate), both pixels on
 * one load of the channel's weights, as the binary models' input layer does on Helium; then
 * the requantisation four channels per vector. scratch: 2 cout words. */
__attribute__((noinline)) static void conv3x3_rgb_s8_helium(const int8_t *in, int h, int w,
                                                            const int8_t *weights, int cout,
                                                            int stride, int pad,
                                                            const trit_requant_t *rq,
                                                            int8_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    const mve_pred16_t tail = vctp8q(11);
    int32_t *const sa = scratch, *const sb = scratch + cout;
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ox += 2) {
            const int two = ox + 1 < ow; /* a lone last pixel is computed twice, stored once */
            int8x16_t pix[4];
            rgb_pair_helium(in, h, w, oy * stride - pad, ox * stride - pad,
                            (ox + two) * stride - pad, tail, pix);
            const int8x16_t a0 = pix[0], a1 = pix[1], b0 = pix[2], b1 = pix[3];
            const int8_t *wt = weights;
            for (int o = 0; o < cout; ++o, wt += 27) {
                const int8x16_t w0 = vld1q_s8(wt), w1 = vldrbq_z_s8(wt + 16, tail);
                sa[o] = vmladavaq_s8(vmladavq_s8(a0, w0), a1, w1);
                sb[o] = vmladavaq_s8(vmladavq_s8(b0, w0), b1, w1);
            }
            int8_t *const y = out + (oy * ow + ox) * cout;
            requant_row_helium(sa, cout, rq, y);
            if (two) requant_row_helium(sb, cout, rq, y + cout);
        }
}

/* The four sums of dot2x2_helium take one group: acc = mla(acc, pixel, weights). */
#define DOT2X2_GROUP(mla, va, vb, v0, v1)                                                      \
    do {                                                                                       \
        a0 = mla(a0, (va), (v0));                                                              \
        a1 = mla(a1, (va), (v1));                                                              \
        b0 = mla(b0, (vb), (v0));                                                              \
        b1 = mla(b1, (vb), (v1));                                                              \
    } while (0)
/* Sums of pixels a, b with weight rows w0, w1 over cin inputs: s = {a.w0, a.w1, b.w0, b.w1}.
 * Whole groups of 16 unpredicated, then a group of 8 in 16-bit lanes, the last cin % 8 under
 * a tail predicate. */
static inline __attribute__((always_inline)) void
dot2x2_helium(const int8_t *a, const int8_t *b, const int8_t *w0, const int8_t *w1, int cin,
              int32_t s[4]) {
    int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    const int8_t *const end = a + (cin & ~15);
    for (; a != end; a += 16, b += 16, w0 += 16, w1 += 16)
        DOT2X2_GROUP(vmladavaq_s8, vld1q_s8(a), vld1q_s8(b), vld1q_s8(w0), vld1q_s8(w1));
    if (cin & 8) { /* eight inputs widened to 16-bit lanes: no predicate to set */
        DOT2X2_GROUP(vmladavaq_s16, vldrbq_s16(a), vldrbq_s16(b), vldrbq_s16(w0),
                     vldrbq_s16(w1));
        a += 8;
        b += 8;
        w0 += 8;
        w1 += 8;
    }
    if (cin & 7) {
        const mve_pred16_t m = vctp8q((uint32_t)(cin & 7));
        DOT2X2_GROUP(vmladavaq_s8, vldrbq_z_s8(a, m), vldrbq_z_s8(b, m), vldrbq_z_s8(w0, m),
                     vldrbq_z_s8(w1, m));
    }
    s[0] = a0;
    s[1] = a1;
    s[2] = b0;
    s[3] = b1;
}
#undef DOT2X2_GROUP

/* The sums of one pixel pair (a, b) for every output channel into sa[cout], sb[cout]. Not
 * inlined: inside trit_conv_s8 GCC spilled the four sums and the predicate every group. */
__attribute__((noinline)) static void pair_sums_helium(const int8_t *a, const int8_t *b,
                                                       int cin, const int8_t *weights,
                                                       int cout, int32_t *sa, int32_t *sb) {
    int o = 0;
    for (; o + 2 <= cout; o += 2) {
        int32_t s[4];
        dot2x2_helium(a, b, weights + o * cin, weights + (o + 1) * cin, cin, s);
        sa[o] = s[0];
        sa[o + 1] = s[1];
        sb[o] = s[2];
        sb[o + 1] = s[3];
    }
    if (o < cout) { /* an odd last channel pairs itself */
        int32_t s[4];
        dot2x2_helium(a, b, weights + o * cin, weights + o * cin, cin, s);
        sa[o] = s[0];
        sb[o] = s[2];
    }
}

/* The 1x1 layer (pad 0, any cin >= 1); scratch: 2 cout words (the two pixels' sums). */
__attribute__((noinline)) static void conv1x1_s8_helium(const int8_t *in, int h, int w,
                                                        int cin, const int8_t *weights,
                                                        int cout, int stride,
                                                        const trit_requant_t *rq, int8_t *out,
                                                        int32_t *scratch) {
    const int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1, pixels = oh * ow;
    int32_t *const sa = scratch, *const sb = scratch + cout;
    for (int p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels, q = two ? p + 1 : p; /* a lone pixel pairs itself */
        const int8_t *const a = in + ((p / ow) * stride * w + (p % ow) * stride) * cin;
        const int8_t *const b = in + ((q / ow) * stride * w + (q % ow) * stride) * cin;
        pair_sums_helium(a, b, cin, weights, cout, sa, sb);
        requant_row_helium(sa, cout, rq, out + p * cout);
        if (two) requant_row_helium(sb, cout, rq, out + (p + 1) * cout);
    }
}

/* Scratch words of dw3x3_s8_helium for c channels (c a multiple of 8): the weights widened to
 * int16 [9][c], the requantisation parameters per group of 8 channels, a border window. */
#define DW3_HELIUM_INTS(c) (9 * (c) / 2 + 3 * (c) + 9 * (c) / 4)

/* Requantisation parameters of 8 channels as dw3x3_s8_helium's vectors hold them: even
 * channels (0, 2, 4, 6) then odd ones, bias, mult and 33 - shift. */
typedef struct {
    int32_t bias[2][4], mult[2][4], nshift[2][4];
} requant8_t;

/* One requantised vector of four channels (half h of the group's parameters) stored to y at
 * every second byte. */
static inline __attribute__((always_inline)) void
requant_half_helium(int32x4_t acc, const requant8_t *q, int h, int32_t act_min, int8_t *y) {
    const int32x4_t v = requant4_helium(acc, vld1q_s32(q->bias[h]), vld1q_s32(q->mult[h]),
                                        vld1q_s32(q->nshift[h]), act_min);
    vstrbq_scatter_offset_s32(y, vidupq_n_u32(0, 2), v);
}

/* Nine taps of one group of 8 channels in assembly (GCC's schedule of the same intrinsics
 * hoisted all eighteen loads and spilled them): per tap one widening load of the inputs
 * (VLDRB.S16), one of the group's widened weights with post-increment, VMULLB and VMULLT,
 * two VADD, and one ADD to the next tap's inputs. a: the window's top-left tap of the group's
 * first channel; c: bytes between window columns, rowc: from a row's last column to the next
 * row's first; wq: the group's weights [9][8] int16. even, odd: the sums of channels 0, 2, 4,
 * 6 and 1, 3, 5, 7 of the group. */
#define DW3_HELIUM_TAP                                                                          \
    "vldrb.s16 q0, [%[a]]\n\t"                                                                 \
    "vldrh.16 q1, [%[w]], #16\n\t"                                                             \
    "vmullb.s16 q2, q0, q1\n\t"                                                                \
    "vmullt.s16 q3, q0, q1\n\t"                                                                \
    "vadd.i32 %q[e], %q[e], q2\n\t"                                                            \
    "vadd.i32 %q[o], %q[o], q3\n\t"
#define DW3_HELIUM_ROW                                                                          \
    DW3_HELIUM_TAP "add %[a], %[a], %[c]\n\t" DW3_HELIUM_TAP "add %[a], %[a], %[c]\n\t"          \
        DW3_HELIUM_TAP
static inline __attribute__((always_inline)) void
dw3x3_group_helium(const int8_t *a, int c, int rowc, const int16_t *wq, int32x4_t *even,
                   int32x4_t *odd) {
    int32x4_t e, o;
    __asm__("vmov.i32 %q[e], #0\n\t"
            "vmov.i32 %q[o], #0\n\t" DW3_HELIUM_ROW "add %[a], %[a], %[rowc]\n\t"
            DW3_HELIUM_ROW "add %[a], %[a], %[rowc]\n\t" DW3_HELIUM_ROW
            : [a] "+r"(a), [w] "+r"(wq), [e] "=&w"(e), [o] "=&w"(o)
            : [c] "r"(c), [rowc] "r"(rowc)
            : "q0", "q1", "q2", "q3", "memory");
    *even = e;
    *odd = o;
}
#undef DW3_HELIUM_ROW
#undef DW3_HELIUM_TAP

/* The 3x3 depthwise layer, c a multiple of 8: per pixel and group of 8 channels the nine taps
 * of dw3x3_group_helium (7 instructions for 8 products), on weights widened once per call to
 * [group][tap][8] int16; a border pixel's window first copied with zeros outside the image.
 * scratch: DW3_HELIUM_INTS(c) words. */
__attribute__((noinline)) static void dw3x3_s8_helium(const int8_t *in, int h, int w, int c,
                                                      const int8_t *weights, int stride,
                                                      int pad, const trit_requant_t *rq,
                                                      int8_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    int16_t *const wq = (int16_t *)scratch; /* [c / 8][9][8] */
    requant8_t *const rq8 = (requant8_t *)(scratch + 9 * c / 2);
    int8_t *const window = (int8_t *)(scratch + 9 * c / 2 + 3 * c); /* [9][c] */
    for (int ch = 0; ch < c; ++ch) {
        for (int t = 0; t < 9; ++t) wq[(ch / 8) * 72 + t * 8 + ch % 8] = weights[ch * 9 + t];
        requant8_t *const q = rq8 + ch / 8;
        const int half = ch & 1, lane = (ch % 8) / 2;
        q->bias[half][lane] = rq->bias[ch];
        q->mult[half][lane] = rq->mult[ch];
        q->nshift[half][lane] = 33 - rq->shift[ch];
    }
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad;
        for (int ox = 0; ox < ow; ++ox) {
            const int x0 = ox * stride - pad;
            const int8_t *a = in + (y0 * w + x0) * c;
            int row = w * c;
            if (y0 < 0 || y0 + 3 > h || x0 < 0 || x0 + 3 > w) { /* a border pixel */
                for (int t = 0; t < 9; ++t) {
                    const int yy = y0 + t / 3, xx = x0 + t % 3;
                    int8_t *const dst = window + t * c;
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                        for (int ch = 0; ch < c; ch += 8) vstrbq_s16(dst + ch, vdupq_n_s16(0));
                    else
                        for (int ch = 0; ch < c; ch += 8)
                            vstrbq_s16(dst + ch, vldrbq_s16(in + (yy * w + xx) * c + ch));
                }
                a = window;
                row = 3 * c;
            }
            int8_t *const y = out + (oy * ow + ox) * c;
            for (int ch = 0; ch < c; ch += 8) {
                int32x4_t even, odd;
                dw3x3_group_helium(a + ch, c, row - 2 * c, wq + (ch / 8) * 72, &even, &odd);
                requant_half_helium(even, rq8 + ch / 8, 0, rq->act_min, y + ch);
                requant_half_helium(odd, rq8 + ch / 8, 1, rq->act_min, y + ch + 1);
            }
        }
    }
}
