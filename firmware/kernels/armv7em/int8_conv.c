/* ARMv7E-M flavour: the int8 comparison network's convolutions (kernels.h), the way an
 * ordinary int8 deployment runs them on a Cortex-M4 (CMSIS-NN style).
 *
 * Convolution: two output pixels at a time, their k x k x cin patches (n bytes, zero outside
 * the image) gathered and widened once into int16 pairs in SXTB16 order (bytes 0,2 then 1,3 of
 * each word) in the scratch; then two output channels at a time, each weight word widened once
 * and used for both pixels: 8 SMLAD per 16 products. The n % 4 last products are plain
 * multiply-adds. Patches too large for the scratch take the portable loops. 1x1 layers whose
 * cin is a multiple of 4 widen each pixel pair straight from the tensor and run the same 2 x 2
 * block in assembly over all pairs of channels (pw_s8_pairs). The 3x3 RGB input
 * layer (27 products) widens its weights once per call instead and runs the two-pixel by
 * two-channel LDRD/SMLAD dot of rgb3x3.h, as the binary models' input layer does.
 * Depthwise: four channels per word; per tap, input and weight words (weights transposed to
 * [tap][channel] in the scratch) widened with SXTB16 and multiplied lane by lane with SMLABB /
 * SMLATT; taps outside the image skipped by clipping the tap range per pixel. 3x3 layers take
 * every pixel through dw3x3_s8_pixel, the nine taps in assembly on weights widened once per
 * call (a border pixel's window first copied with zeros outside the image), and the channels
 * past the last multiple of 4 through the plain loop. */
#include "acle_dsp.h"
#include <string.h>

#include "int8_dot.h"
#include "rgb3x3.h"
#include "trit/kernels.h"
#ifdef __ARM_FEATURE_MVE
#include "int8_helium.h"
#endif

/* The patch of output pixel (oy, ox) into bytes[n] (zero outside the image), widened into
 * pairs[2 * (n / 4)]. */
static void gather(const int8_t *in, int h, int w, int cin, int k, int stride, int pad, int oy,
                   int ox, int8_t *bytes, uint32_t *pairs) {
    const int row = k * cin, n = k * row;
    for (int ky = 0; ky < k; ++ky) {
        const int y = oy * stride + ky - pad;
        for (int kx = 0; kx < k; ++kx) {
            const int x = ox * stride + kx - pad;
            int8_t *dst = bytes + ky * row + kx * cin;
            if (y < 0 || y >= h || x < 0 || x >= w) memset(dst, 0, (size_t)cin);
            else memcpy(dst, in + (y * w + x) * cin, (size_t)cin);
        }
    }
    widen_pairs(bytes, n, pairs);
}

static void conv_loops(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                       int cout, int k, int stride, int pad, const trit_requant_t *rq,
                       int8_t *out) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
            for (int o = 0; o < cout; ++o) {
                int32_t acc = 0;
                for (int ky = 0; ky < k; ++ky)
                    for (int kx = 0; kx < k; ++kx) {
                        const int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                        if (y < 0 || y >= h || x < 0 || x >= w) continue;
                        for (int i = 0; i < cin; ++i)
                            acc += in[(y * w + x) * cin + i] *
                                   weights[((o * k + ky) * k + kx) * cin + i];
                    }
                out[(oy * ow + ox) * cout + o] = trit_requant(acc, o, rq);
            }
}

/* 3x3 RGB, weights widened into wide[cout][14] (rgb3x3.h), two pixels by two channels per
 * pass; relu: act_min 0 (else -128), the clamp as one saturation. */
static inline __attribute__((always_inline)) void
conv3x3_rgb(const int8_t *in, int h, int w, const uint32_t *wide, int cout, int stride, int pad,
            const trit_requant_t *rq, int8_t *out, int relu) {
    const int oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
    const int32_t *const bias = rq->bias, *const mult = rq->mult, *const shift = rq->shift;
    uint32_t pix[28]; /* two widened patches: pixel p at 0..13, p + 1 at 14..27 */
    int32_t s4[4];
    for (int p = 0; p < oh * ow; p += 2) {
        const int two = p + 1 < oh * ow;
        gather28(in, h, w, (p / ow) * stride - pad, (p % ow) * stride - pad, pix);
        if (two)
            gather28(in, h, w, ((p + 1) / ow) * stride - pad, ((p + 1) % ow) * stride - pad,
                     pix + 14);
        else
            for (int i = 14; i < 28; ++i) pix[i] = 0;
        int8_t *const ya = out + p * cout, *const yb = ya + cout;
        int o = 1;
        for (; o < cout; o += 2) { /* s4 = {A.o, A.o-1, B.o, B.o-1} */
            dot28_2x2(pix, wide + 14 * (o - 1), s4);
            ya[o - 1] = (int8_t)requant_sat(s4[1], bias[o - 1], mult[o - 1], shift[o - 1], relu);
            ya[o] = (int8_t)requant_sat(s4[0], bias[o], mult[o], shift[o], relu);
            if (two) {
                yb[o - 1] =
                    (int8_t)requant_sat(s4[3], bias[o - 1], mult[o - 1], shift[o - 1], relu);
                yb[o] = (int8_t)requant_sat(s4[2], bias[o], mult[o], shift[o], relu);
            }
        }
        if (o == cout) { /* odd channel count: the last one alone */
            const int l = cout - 1;
            ya[l] = (int8_t)requant_sat(dot28(pix, wide + 14 * l), bias[l], mult[l], shift[l],
                                        relu);
            if (two)
                yb[l] = (int8_t)requant_sat(dot28(pix + 14, wide + 14 * l), bias[l], mult[l],
                                            shift[l], relu);
        }
    }
}

#if defined(__GNUC__) && defined(__thumb2__) && !defined(__ARM_FEATURE_MVE)
#define PW_S8_ASM 1 /* Helium cores take int8_helium.h's 1x1 layer */
/* The 1x1 layer's products for two pixels and `pairs` pairs of output channels, in Thumb-2
 * assembly (a naked function: GCC's code for the same 2 x 2 dot spilled and stepped pointers
 * one by one, 26 instructions per group). pix .. pix_end: the two pixels' cin inputs (cin a
 * multiple of 4, at least 4) widened and interleaved, per group of four inputs
 * {a 0,2; a 1,3; b 0,2; b 1,3} (SXTB16 order); w: the weights [2 pairs][cin], int8, read one
 * word per group and widened in the loop. Per group one LDM of the four pair words and per
 * channel one LDR, two SXTB16 and four SMLAD: 18 instructions for 16 products with the loop
 * test, 14 more per pair of channels. sums: per pair {a.o, a.o+1, b.o, b.o+1}. */
#define PW_S8_ARG __attribute__((unused)) /* read by the assembly: r0..r3, [sp] */
__attribute__((naked, noinline)) static void pw_s8_pairs(PW_S8_ARG const uint32_t *pix,
                                                       PW_S8_ARG const uint32_t *pix_end,
                                                       PW_S8_ARG const int8_t *w,
                                                       PW_S8_ARG int32_t *sums,
                                                       PW_S8_ARG int pairs) {
    __asm__ volatile(
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
        "ldr r4, [sp, #36]\n\t" /* pairs */
        "sub sp, sp, #16\n\t"   /* [sp]: pix, sums, pairs left, cin */
        "subs r5, r1, r0\n\t"
        "lsrs r5, r5, #2\n\t"
        "strd r0, r3, [sp]\n\t"
        "strd r4, r5, [sp, #8]\n\t"
        "2:\n\t"
        "ldr r12, [sp, #12]\n\t"
        "add r3, r2, r12\n\t" /* the pair's second row */
        "movs r8, #0\n\t"
        "movs r9, #0\n\t"
        "movs r10, #0\n\t"
        "movs r11, #0\n\t"
        "1:\n\t"
        "ldmia r0!, {r4, r5, r6, r7}\n\t"
        "ldr r12, [r2], #4\n\t"
        "sxtb16 lr, r12, ror #8\n\t"
        "sxtb16 r12, r12\n\t"
        "smlad r8, r4, r12, r8\n\t"
        "smlad r8, r5, lr, r8\n\t"
        "smlad r10, r6, r12, r10\n\t"
        "smlad r10, r7, lr, r10\n\t"
        "ldr r12, [r3], #4\n\t"
        "sxtb16 lr, r12, ror #8\n\t"
        "sxtb16 r12, r12\n\t"
        "smlad r9, r4, r12, r9\n\t"
        "smlad r9, r5, lr, r9\n\t"
        "smlad r11, r6, r12, r11\n\t"
        "smlad r11, r7, lr, r11\n\t"
        "cmp r0, r1\n\t"
        "bne 1b\n\t"
        "mov r2, r3\n\t" /* the next pair's first row */
        "ldrd r0, r12, [sp]\n\t"
        "stmia r12!, {r8, r9, r10, r11}\n\t"
        "str r12, [sp, #4]\n\t"
        "ldr r12, [sp, #8]\n\t"
        "subs r12, r12, #1\n\t"
        "str r12, [sp, #8]\n\t"
        "bne 2b\n\t"
        "add sp, sp, #16\n\t"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}
#undef PW_S8_ARG

/* Requantise a pixel pair's sums (pw_s8_pairs order) into ya (and yb when two); relu as in
 * requant3. */
static inline __attribute__((always_inline)) void
pw_s8_requant(const int32_t *sums, int even, const requant3_t *rp, int8_t *ya, int8_t *yb,
              int two, int relu) {
    for (int o = 0; o < even; o += 2, sums += 4) {
        const requant3_t p0 = rp[o], p1 = rp[o + 1]; /* read once for both pixels */
        const int32_t a0 = requant3(sums[0], &p0, relu), a1 = requant3(sums[1], &p1, relu);
        const int32_t b0 = requant3(sums[2], &p0, relu), b1 = requant3(sums[3], &p1, relu);
        ya[o] = (int8_t)a0;
        ya[o + 1] = (int8_t)a1;
        if (two) {
            yb[o] = (int8_t)b0;
            yb[o + 1] = (int8_t)b1;
        }
    }
}

/* The 1x1 layer (pad 0, cin a multiple of 4) two pixels at a time: each pixel pair's inputs
 * widened once straight from the tensor into pix, pw_s8_pairs over the pairs of channels, an
 * odd last channel in C, then the requantisation, its parameters side by side where the
 * scratch holds them. 0 when the scratch cannot hold the widened pair and the sums. */
static int conv1x1_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights,
                      int cout, int stride, const trit_requant_t *rq, int8_t *out,
                      int32_t *scratch) {
    const int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1, pixels = oh * ow;
    const int groups = cin / 4, even = cout & ~1;
    if (4 * groups + 2 * even > TRIT_SCRATCH_INTS(cout)) return 0;
    uint32_t *const pix = (uint32_t *)scratch, *const pix_end = pix + 4 * groups;
    int32_t *const sums = (int32_t *)pix_end;
    requant3_t *const rp = (requant3_t *)(sums + 2 * even);
    const int table = 4 * groups + 2 * even + 3 * cout <= TRIT_SCRATCH_INTS(cout);
    const int relu = rq->act_min == 0;
    if (table)
        for (int o = 0; o < cout; ++o) rp[o] = requant3_of(rq, o);
    for (int p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels, q = two ? p + 1 : p; /* a lone pixel pairs itself */
        const int8_t *const a = in + ((p / ow) * stride * w + (p % ow) * stride) * cin;
        const int8_t *const b = in + ((q / ow) * stride * w + (q % ow) * stride) * cin;
        for (int g = 0; g < groups; ++g) {
            const uint32_t va = trit_load_u32(a + 4 * g), vb = trit_load_u32(b + 4 * g);
            pix[4 * g] = __sxtb16(va);
            pix[4 * g + 1] = trit_sxtb16_ror8(va);
            pix[4 * g + 2] = __sxtb16(vb);
            pix[4 * g + 3] = trit_sxtb16_ror8(vb);
        }
        int8_t *const ya = out + p * cout, *const yb = ya + cout;
        if (even) pw_s8_pairs(pix, pix_end, weights, sums, even / 2);
        if (!table)
            for (int o = 0; o < even; ++o) {
                ya[o] = trit_requant(sums[2 * (o & ~1) + (o & 1)], o, rq);
                if (two) yb[o] = trit_requant(sums[2 * (o & ~1) + 2 + (o & 1)], o, rq);
            }
        else if (relu)
            pw_s8_requant(sums, even, rp, ya, yb, two, 1);
        else
            pw_s8_requant(sums, even, rp, ya, yb, two, 0);
        if (even < cout) { /* an odd last channel */
            const int8_t *const wl = weights + even * cin;
            int32_t sa = 0, sb = 0;
            for (int i = 0; i < cin; ++i) {
                sa += a[i] * wl[i];
                sb += b[i] * wl[i];
            }
            ya[even] = trit_requant(sa, even, rq);
            if (two) yb[even] = trit_requant(sb, even, rq);
        }
    }
    return 1;
}
#endif

void trit_conv_s8(const int8_t *in, int h, int w, int cin, const int8_t *weights, int cout,
                  int k, int stride, int pad, const trit_requant_t *rq, int8_t *out,
                  int32_t *scratch) {
#ifdef __ARM_FEATURE_MVE /* their 2 cout words of sums always fit the scratch */
    if (k == 3 && cin == 3) {
        conv3x3_rgb_s8_helium(in, h, w, weights, cout, stride, pad, rq, out, scratch);
        return;
    }
    if (k == 1 && pad == 0) {
        conv1x1_s8_helium(in, h, w, cin, weights, cout, stride, rq, out, scratch);
        return;
    }
#elif PW_S8_ASM
    if (k == 1 && pad == 0 && cin >= 4 && cin % 4 == 0 &&
        conv1x1_s8(in, h, w, cin, weights, cout, stride, rq, out, scratch))
        return;
#endif
    if (k == 3 && cin == 3 && 14 * cout <= TRIT_SCRATCH_INTS(cout) &&
        (rq->act_min == 0 || rq->act_min == -128)) {
        uint32_t *const wide = (uint32_t *)scratch;
        for (int o = 0; o < cout; ++o) {
            const int8_t *wt = weights + o * 27;
            widen_rows(wt, wt + 9, wt + 18, wide + 14 * o);
        }
        if (rq->act_min == 0) conv3x3_rgb(in, h, w, wide, cout, stride, pad, rq, out, 1);
        else conv3x3_rgb(in, h, w, wide, cout, stride, pad, rq, out, 0);
        return;
    }
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int n = k * k * cin, pair_words = 2 * (n / 4), byte_words = (n + 3) / 4;
    /* scratch: pairs of patch a and b, then their bytes */
    if (2 * (pair_words + byte_words) > TRIT_SCRATCH_INTS(cout)) {
        conv_loops(in, h, w, cin, weights, cout, k, stride, pad, rq, out);
        return;
    }
    uint32_t *const pa = (uint32_t *)scratch, *const pb_own = pa + pair_words;
    int8_t *const ba = (int8_t *)(pb_own + pair_words), *const bb_own = ba + 4 * byte_words;
    const int pixels = oh * ow;
    /* the requantisation parameters side by side after the bytes, where they fit */
    requant3_t *const rp = (requant3_t *)(ba + 8 * byte_words);
    const int table = 2 * (pair_words + byte_words) + 3 * cout <= TRIT_SCRATCH_INTS(cout);
    const int relu = rq->act_min == 0;
    if (table)
        for (int o = 0; o < cout; ++o) rp[o] = requant3_of(rq, o);
#define CONV_S8_REQUANT(acc, o)                                                                \
    (table ? (int8_t)requant3((acc), rp + (o), relu) : trit_requant((acc), (o), rq))
    int32_t s[4];
    for (int p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels;
        /* a lone last pixel is paired with itself */
        uint32_t *pb = two ? pb_own : pa;
        int8_t *bb = two ? bb_own : ba;
        gather(in, h, w, cin, k, stride, pad, p / ow, p % ow, ba, pa);
        if (two) gather(in, h, w, cin, k, stride, pad, (p + 1) / ow, (p + 1) % ow, bb, pb);
        int8_t *ya = out + p * cout, *yb = ya + cout;
        int o = 0;
        for (; o + 2 <= cout; o += 2) {
            dot_2x2(pa, pb, ba, bb, weights + o * n, weights + (o + 1) * n, n, s);
            ya[o] = CONV_S8_REQUANT(s[0], o);
            ya[o + 1] = CONV_S8_REQUANT(s[1], o + 1);
            if (two) {
                yb[o] = CONV_S8_REQUANT(s[2], o);
                yb[o + 1] = CONV_S8_REQUANT(s[3], o + 1);
            }
        }
        if (o < cout) { /* odd channel count: the last channel with itself */
            dot_2x2(pa, pb, ba, bb, weights + o * n, weights + o * n, n, s);
            ya[o] = CONV_S8_REQUANT(s[0], o);
            if (two) yb[o] = CONV_S8_REQUANT(s[2], o);
        }
    }
#undef CONV_S8_REQUANT
}

#if defined(__GNUC__) && defined(__thumb2__) && defined(__OPTIMIZE__)
/* the assembly below needs twelve registers: not at -O0, where r7 is the frame pointer */
#define DW3_S8_ASM 1
/* One pixel of a 3x3 depthwise layer (a: its window's top-left pixel in the image or in a
 * zero-padded copy, row: bytes from one window row to the next, c: from one pixel to the
 * next), channels 0 .. 4 groups - 1 into y: per group of four
 * channels the nine taps in one block of Thumb-2 assembly (GCC's code for the same C spilled
 * the widened words), each one load of the pixel word widened with SXTB16, one LDRD of the
 * weights widened once per call (wq: 18 words per group, tap by tap the pairs of channels 0, 2
 * and 1, 3) and four SMLABB / SMLATT: 8 instructions per 4 products. */
#define DW3_S8_TAP(off, q)                                                                     \
    "ldr %[v], [%[a], " off "]\n\t"                                                            \
    "ldrd %[w0], %[w1], [%[q], #" q "]\n\t"                                                    \
    "sxtb16 %[u], %[v]\n\t"                                                                    \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                            \
    "smlabb %[s0], %[u], %[w0], %[s0]\n\t"                                                     \
    "smlatt %[s2], %[u], %[w0], %[s2]\n\t"                                                     \
    "smlabb %[s1], %[v], %[w1], %[s1]\n\t"                                                     \
    "smlatt %[s3], %[v], %[w1], %[s3]\n\t"
/* a row's three taps: a walks one pixel on after the second, then to the next row */
#define DW3_S8_ROW(q0, q1, q2)                                                                 \
    DW3_S8_TAP("#0", q0) DW3_S8_TAP("%[c]", q1) "add %[a], %[a], %[c]\n\t" DW3_S8_TAP("%[c]", q2)
static inline __attribute__((always_inline)) void dw3x3_s8_pixel(
    const int8_t *a, int row, int c, int groups, const uint32_t *wq, int32_t scale,
    const requant3_t *rp, int relu, int8_t *y) {
    const int rowc = row - c;
    for (int g = 0; g < groups; ++g, wq += 18) {
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const int8_t *p = a + 4 * g;
        uint32_t v, u, w0, w1;
        __asm__("" DW3_S8_ROW("0", "8", "16") "add %[a], %[a], %[rowc]\n\t"
                DW3_S8_ROW("24", "32", "40") "add %[a], %[a], %[rowc]\n\t"
                DW3_S8_ROW("48", "56", "64")
                : [a] "+r"(p), [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3),
                  [v] "=&r"(v), [u] "=&r"(u), [w0] "=&r"(w0), [w1] "=&r"(w1)
                : [q] "r"(wq), [c] "r"(c), [rowc] "r"(rowc)
                : "memory");
        const int ch = 4 * g;
        y[ch] = (int8_t)requant3(scale * s0, rp + ch, relu);
        y[ch + 1] = (int8_t)requant3(scale * s1, rp + ch + 1, relu);
        y[ch + 2] = (int8_t)requant3(scale * s2, rp + ch + 2, relu);
        y[ch + 3] = (int8_t)requant3(scale * s3, rp + ch + 3, relu);
    }
}
#undef DW3_S8_ROW
#undef DW3_S8_TAP
#else
#define DW3_S8_ASM 0
#endif

void trit_dw_s8(const int8_t *in, int h, int w, int c, const int8_t *weights, int k,
                int stride, int pad, const trit_requant_t *rq, int8_t *out, int32_t *scratch) {
#ifdef __ARM_FEATURE_MVE
    if (k == 3 && c % 8 == 0 && DW3_HELIUM_INTS(c) <= TRIT_SCRATCH_INTS(c)) {
        dw3x3_s8_helium(in, h, w, c, weights, stride, pad, rq, out, scratch);
        return;
    }
#endif
    trit_armv7em_dw_s8_scaled(in, h, w, c, weights, 1, k, stride, pad, rq, out, scratch);
}

void trit_armv7em_dw_s8_scaled(const int8_t *in, int h, int w, int c, const int8_t *weights,
                               int32_t scale, int k, int stride, int pad,
                               const trit_requant_t *rq, int8_t *out, int32_t *scratch) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int kk = k * k, c4 = c & ~3;
    int8_t *wt = (int8_t *)scratch; /* [tap][c4] */
    const int fits = kk * c4 <= 4 * TRIT_SCRATCH_INTS(c);
    if (fits)
        for (int t = 0; t < kk; ++t)
            for (int ch = 0; ch < c4; ++ch) wt[t * c4 + ch] = weights[ch * kk + t];
    /* 3x3: after the transposed weights, the widened ones and the requantisation parameters
     * of dw3x3_s8_pixel, where they fit */
    const int groups = c4 / 4, wt_ints = (kk * c4 + 3) / 4;
    uint32_t *wq = (uint32_t *)scratch + wt_ints;
    requant3_t *rp = (requant3_t *)(wq + 18 * groups);
    /* then a border pixel's window, zero outside the image (9 groups words) */
    const int wide = DW3_S8_ASM && fits && k == 3 &&
                     wt_ints + 18 * groups + 3 * c4 + 9 * groups <= TRIT_SCRATCH_INTS(c);
    if (wide) {
        for (int g = 0; g < groups; ++g)
            for (int t = 0; t < 9; ++t) {
                const uint32_t v = trit_load_u32(wt + t * c4 + 4 * g);
                wq[18 * g + 2 * t] = __sxtb16(v);
                wq[18 * g + 2 * t + 1] = trit_sxtb16_ror8(v);
            }
        for (int ch = 0; ch < c4; ++ch) rp[ch] = requant3_of(rq, ch);
    }
    for (int oy = 0; oy < oh; ++oy) {
        const int y0 = oy * stride - pad;
        const int ky0 = y0 < 0 ? -y0 : 0, ky1 = y0 + k > h ? h - y0 : k;
        for (int ox = 0; ox < ow; ++ox) {
            const int x0 = ox * stride - pad;
            const int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + k > w ? w - x0 : k;
            int8_t *y = out + (oy * ow + ox) * c;
            int ch = 0;
#if DW3_S8_ASM
            if (wide) { /* the window in the image, or a border pixel's copied with zeros */
                const int8_t *a = in + (y0 * w + x0) * c;
                int row = w * c, step = c;
                if (ky0 != 0 || ky1 != 3 || kx0 != 0 || kx1 != 3) {
                    uint32_t *const patch = (uint32_t *)(rp + c4);
                    for (int t = 0; t < 9; ++t) {
                        const int ky = t / 3, kx = t % 3;
                        uint32_t *dst = patch + t * groups;
                        if (ky < ky0 || ky >= ky1 || kx < kx0 || kx >= kx1) {
                            for (int g = 0; g < groups; ++g) dst[g] = 0u;
                            continue;
                        }
                        const int8_t *src = in + ((y0 + ky) * w + x0 + kx) * c;
                        for (int g = 0; g < groups; ++g) dst[g] = trit_load_u32(src + 4 * g);
                    }
                    a = (const int8_t *)patch;
                    row = 3 * c4;
                    step = c4;
                }
                if (rq->act_min == 0)
                    dw3x3_s8_pixel(a, row, step, groups, wq, scale, rp, 1, y);
                else
                    dw3x3_s8_pixel(a, row, step, groups, wq, scale, rp, 0, y);
                ch = c4;
            }
#endif
            for (; fits && ch < c4; ch += 4) {
                int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int ky = ky0; ky < ky1; ++ky) {
                    const int8_t *a = in + ((y0 + ky) * w + x0) * c + ch;
                    const int8_t *wr = wt + ky * k * c4 + ch;
                    for (int kx = kx0; kx < kx1; ++kx) {
                        const uint32_t av = trit_load_u32(a + kx * c), wv = trit_load_u32(wr + kx * c4);
                        const uint32_t a02 = __sxtb16(av), a13 = trit_sxtb16_ror8(av);
                        const uint32_t w02 = __sxtb16(wv), w13 = trit_sxtb16_ror8(wv);
                        s0 = __smlabb(a02, w02, s0);
                        s2 = __smlatt(a02, w02, s2);
                        s1 = __smlabb(a13, w13, s1);
                        s3 = __smlatt(a13, w13, s3);
                    }
                }
                y[ch] = trit_requant(scale * s0, ch, rq);
                y[ch + 1] = trit_requant(scale * s1, ch + 1, rq);
                y[ch + 2] = trit_requant(scale * s2, ch + 2, rq);
                y[ch + 3] = trit_requant(scale * s3, ch + 3, rq);
            }
            for (; ch < c; ++ch) { /* channels past the last multiple of 4 */
                int32_t s = 0;
                for (int ky = ky0; ky < ky1; ++ky)
                    for (int kx = kx0; kx < kx1; ++kx)
                        s += in[((y0 + ky) * w + x0 + kx) * c + ch] * weights[ch * kk + ky * k + kx];
                y[ch] = trit_requant(scale * s, ch, rq);
            }
        }
    }
}
