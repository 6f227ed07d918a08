/* ARMv7E-M flavour: depthwise ternary x int8 convolution with requantised int8 outputs
 * (int8-activation models, IR v2; kernels.h). With wp == wn the codes ([C][K*K] int8, the
 * layout of int8 depthwise weights) go through the int8 depthwise kernel, four channels per
 * word with SMLABB / SMLATT, and each sum is multiplied by wp; unequal scales sum P and N
 * apart. */
#include "int8_dot.h"
#include "trit/kernels.h"

void trit_dw_ternary_s8(const int8_t *in, int h, int w, int c, const int8_t *codes,
                        trit_scales_t s, int k, int stride, int pad, const trit_requant_t *rq,
                        int8_t *out, int32_t *scratch) {
    if (s.wp == s.wn) {
        trit_armv7em_dw_s8_scaled(in, h, w, c, codes, s.wp, k, stride, pad, rq, out, scratch);
        return;
    }
    /* unequal scales: per output pixel, P and N of every channel in the scratch, taps outer */
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    int32_t *const pos = scratch, *const neg = scratch + c; /* 2 c <= TRIT_SCRATCH_INTS(c) */
    for (int p = 0; p < oh * ow; ++p) {
        const int oy = p / ow, ox = p % ow;
        for (int ch = 0; ch < c; ++ch) pos[ch] = neg[ch] = 0;
        for (int t = 0; t < k * k; ++t) {
            const int y = oy * stride + t / k - pad, x = ox * stride + t % k - pad;
            if ((unsigned)y >= (unsigned)h || (unsigned)x >= (unsigned)w) continue;
            const int8_t *src = in + (y * w + x) * c;
            for (int ch = 0; ch < c; ++ch) {
                const int8_t code = codes[ch * k * k + t];
                if (code > 0) pos[ch] += src[ch];
                else if (code < 0) neg[ch] += src[ch];
            }
        }
        for (int ch = 0; ch < c; ++ch)
            out[p * c + ch] = trit_requant(s.wp * pos[ch] - s.wn * neg[ch], ch, rq);
    }
}
