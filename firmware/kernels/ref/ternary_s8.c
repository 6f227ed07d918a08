/* Portable flavour: the layers of int8-activation models (IR v2) with ternary weights -
 * pointwise and depthwise convolution with requantised int8 outputs - and their residual add
 * and global pooling (kernels.h). Straightforward loops; acc = wp * P - wn * N where P (N) is
 * the sum of the inputs under +1 (-1) codes. */
#include "trit/kernels.h"

/* wp * P - wn * N from d = P - N and t = P + N. */
static inline int32_t ternary_acc(int32_t d, int32_t t, trit_scales_t s) {
    if (s.wp == s.wn) return s.wp * d;
    return s.wp * ((t + d) / 2) - s.wn * ((t - d) / 2);
}

void trit_pw_ternary_s8(const int8_t *in, int pixels, int cin, const uint32_t *sign,
                        const uint32_t *nz, trit_scales_t s, int cout, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    int8_t *codes = (int8_t *)scratch; /* one output channel's codes, cin bytes */
    const int nw = TRIT_WORDS(cin);
    for (int o = 0; o < cout; ++o) {
        for (int i = 0; i < cin; ++i) {
            const uint32_t bit = 1u << (i % 32);
            const int non_zero = (nz[o * nw + i / 32] & bit) != 0;
            const int negative = (sign[o * nw + i / 32] & bit) != 0;
            codes[i] = (int8_t)(non_zero ? (negative ? -1 : 1) : 0);
        }
        for (int p = 0; p < pixels; ++p) {
            const int8_t *x = in + p * cin;
            int32_t d = 0, t = 0;
            for (int i = 0; i < cin; ++i) {
                d += codes[i] * x[i];
                t += (codes[i] != 0) * x[i];
            }
            out[p * cout + o] = trit_requant(ternary_acc(d, t, s), o, rq);
        }
    }
}

void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    (void)scratch;
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
            for (int ch = 0; ch < c; ++ch) {
                int32_t d = 0, t = 0;
                for (int ky = 0; ky < k; ++ky) {
                    const int y = oy * stride + ky - pad;
                    if (y < 0 || y >= h) continue;
                    for (int kx = 0; kx < k; ++kx) {
                        const int x = ox * stride + kx - pad;
                        if (x < 0 || x >= w) continue;
                        const int8_t code = codes[ch * k * k + ky * k + kx];
                        const int32_t v = in[(y * w + x) * c + ch];
                        d += code * v;
                        t += (code != 0) * v;
                    }
                }
                out[(oy * ow + ox) * c + ch] = trit_requant(ternary_acc(d, t, s), ch, rq);
            }
}

void trit_add_residual_s8(const int8_t *a, int h, int w, int c, const int8_t *b, int b_w,
                          int b_c, int b_stride, int32_t ma, int32_t mb, int shift,
                          int32_t act_min, int8_t *out) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int8_t *ap = a + (y * w + x) * c;
            const int8_t *bp = b + (y * b_stride * b_w + x * b_stride) * b_c;
            int8_t *op = out + (y * w + x) * c;
            for (int ch = 0; ch < c; ++ch) {
                const int32_t bv = ch < b_c ? bp[ch] : 0;
                int32_t v = (ap[ch] * ma + bv * mb + round) >> shift;
                if (v < act_min) v = act_min;
                if (v > 127) v = 127;
                op[ch] = (int8_t)v;
            }
        }
}

void trit_global_sum_pool_s8(const int8_t *in, int pixels, int c, int32_t *out) {
    for (int ch = 0; ch < c; ++ch) out[ch] = 0;
    for (int p = 0; p < pixels; ++p)
        for (int ch = 0; ch < c; ++ch) out[ch] += in[p * c + ch];
}
