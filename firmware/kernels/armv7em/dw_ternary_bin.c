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
 * Unequal scales: per-channel accumulators from the sliced counters, then threshold-and-pack. */
#include "bitcount.h"
#include "trit/kernels.h"

#define MAX_TAPS 9
#define MAX_CLASSES 9

static void dw_general_k(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *acc) {
    /* kernels larger than 3x3: channel by channel (not used by the shipped models) */
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c);
    for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
            for (int ch = 0; ch < c; ++ch) {
                int32_t sum = 0;
                for (int ky = 0; ky < k; ++ky)
                    for (int kx = 0; kx < k; ++kx) {
                        const int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                        const int code = codes[ch * k * k + ky * k + kx];
                        if (y < 0 || y >= h || x < 0 || x >= w || !code) continue;
                        const int neg = (int)((in[(y * w + x) * words + (ch >> 5)] >> (ch & 31)) & 1u);
                        sum += (code > 0 ? s.wp : -s.wn) * (neg ? -1 : 1);
                    }
                acc[ch] = sum;
            }
            trit_threshold_pack(acc, c, thr, 0, 0, out + (oy * ow + ox) * words);
        }
}

/* Count-limit planes of one border class (valid-tap mask v) for equal scales. */
static void class_limits(int c, uint32_t v, const int32_t *mask, const int32_t *bias,
                         const trit_threshold_t *thr, uint32_t *planes /* [words][4] */) {
    for (int g = 0; g < TRIT_WORDS(c); ++g) {
        uint32_t p[4] = {0, 0, 0, 0};
        for (int ch = g * 32; ch < c && ch < g * 32 + 32; ++ch) {
            const int n = (int)byte_sum(nibble_counts((uint32_t)mask[ch] & v), 0u);
            const int negative = (int)((thr->negative[ch >> 5] >> (ch & 31)) & 1u);
            int limit = ((n + bias[ch]) >> 1) - negative; /* arithmetic shift: floor */
            if (limit < -1) limit = -1;
            if (limit > n) limit = n;
            const uint32_t above = (uint32_t)(limit + 1); /* output -1 iff cnt >= above (XOR dir) */
            for (int b = 0; b < 4; ++b) p[b] |= ((above >> b) & 1u) << (ch & 31);
        }
        for (int b = 0; b < 4; ++b) planes[g * 4 + b] = p[b];
    }
}

void trit_dw_ternary_bin(const uint32_t *in, int h, int w, int c, const int8_t *codes,
                         trit_scales_t s, int k, int stride, int pad,
                         const trit_threshold_t *thr, uint32_t *out, int32_t *scratch) {
    if (k > 3) {
        dw_general_k(in, h, w, c, codes, s, k, stride, pad, thr, out, scratch);
        return;
    }
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    const int words = TRIT_WORDS(c), taps = k * k;
    const int equal = s.wp == s.wn && s.wp > 0;
    /* scratch: sign planes [9][words], non-zero planes [9][words], tap masks [c], then
     * equal scales: biases [c], class keys [9], class planes [9][words][4];
     * unequal scales: accumulators [c] */
    uint32_t *sp = (uint32_t *)scratch, *zp = sp + MAX_TAPS * words;
    int32_t *mask = (int32_t *)(zp + MAX_TAPS * words);
    int32_t *bias = mask + c, *acc = mask + c;
    int32_t *keys = bias + c;
    uint32_t *class_planes = (uint32_t *)(keys + MAX_CLASSES);
    for (int i = 0; i < MAX_TAPS * words; ++i) sp[i] = zp[i] = 0;
    for (int ch = 0; ch < c; ++ch) {
        int32_t m = 0;
        for (int t = 0; t < taps; ++t) {
            const int code = codes[ch * taps + t];
            if (!code) continue;
            m |= 1 << t;
            zp[t * words + (ch >> 5)] |= 1u << (ch & 31);
            if (code < 0) sp[t * words + (ch >> 5)] |= 1u << (ch & 31);
        }
        mask[ch] = m;
    }
    if (equal) {
        const int cols = thr->has_residual ? 3 : 1, col = thr->has_residual ? 1 : 0;
        for (int ch = 0; ch < c; ++ch) {
            const int64_t t = thr->threshold[ch * cols + col];
            const int negative = (int)((thr->negative[ch >> 5] >> (ch & 31)) & 1u);
            /* +: limit = floor((n - ceil(t/a)) / 2); -: limit = ceil((n - floor(t/a)) / 2) - 1 */
            int64_t b = negative ? 1 - floor_div(t, s.wp) : -ceil_div(t, s.wp);
            if (b > 30) b = 30;
            if (b < -30) b = -30;
            bias[ch] = (int32_t)b;
        }
        for (int i = 0; i < MAX_CLASSES; ++i) keys[i] = -1;
    }
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            const uint32_t *tap[MAX_TAPS];
            uint32_t v = 0;
            for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) {
                    const int t = ky * 3 + kx;
                    const int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                    const int inside = ky < k && kx < k && y >= 0 && y < h && x >= 0 && x < w;
                    tap[t] = inside ? in + (y * w + x) * words : 0;
                    if (inside) v |= 1u << (ky * k + kx);
                }
            uint32_t *dst = out + (oy * ow + ox) * words;
            if (equal) {
                int cls = 0;
                while (cls < MAX_CLASSES && keys[cls] != (int32_t)v && keys[cls] != -1) ++cls;
                if (cls == MAX_CLASSES) { /* more classes than slots: reuse the last one */
                    cls = MAX_CLASSES - 1;
                    keys[cls] = -1;
                }
                uint32_t *limits = class_planes + cls * words * 4;
                if (keys[cls] == -1) {
                    keys[cls] = (int32_t)v;
                    class_limits(c, v, mask, bias, thr, limits);
                }
                for (int g = 0; g < words; ++g) {
                    uint32_t x[MAX_TAPS], cnt[4];
                    for (int t = 0; t < MAX_TAPS; ++t) {
                        const int wt = (t / 3) * k + t % 3; /* weight-plane tap index */
                        x[t] = tap[t] ? (tap[t][g] ^ sp[wt * words + g]) & zp[wt * words + g] : 0;
                    }
                    count9(x, cnt);
                    const int lanes = c - g * 32 >= 32 ? 32 : c - g * 32;
                    const uint32_t lane_mask = lanes == 32 ? ~0u : (1u << lanes) - 1u;
                    dst[g] = (sliced_ge4(cnt, limits + g * 4) ^ thr->negative[g]) & lane_mask;
                }
            } else {
                for (int g = 0; g < words; ++g) {
                    uint32_t x[MAX_TAPS], y[MAX_TAPS], cnt[4], cnt_t[4];
                    for (int t = 0; t < MAX_TAPS; ++t) {
                        const int wt = (t / 3) * k + t % 3;
                        const uint32_t a = tap[t] ? tap[t][g] : 0, z = tap[t] ? zp[wt * words + g] : 0;
                        x[t] = (a ^ sp[wt * words + g]) & z;
                        y[t] = a & z;
                    }
                    count9(x, cnt);
                    count9(y, cnt_t);
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
