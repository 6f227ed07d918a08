/* ARMv7E-M flavour: pointwise ternary x binary convolution by popcount.
 *
 * Activation bits a (1 = -1), weight planes s (1 = -1) and nz (1 = non-zero).
 * Equal scales (wp == wn = alpha): acc = alpha * (|nz| - 2 cnt), cnt = popcount(nz & (a ^ s));
 *   the batch-norm threshold becomes a count limit per channel (and residual value), computed
 *   once per call, so a pixel costs one popcount chain and one compare per output channel.
 * Unequal scales: with t = nz & a (inputs -1 under non-zero weights) and u = t & s,
 *   acc = wp |nz & ~s| - wn |nz & s| - 2 wp popcount(t) + 2 (wp + wn) popcount(u).
 * Popcounts are SWAR nibble counts summed with USADA8 (bitcount.h). */
#include "bitcount.h"
#include "trit/kernels.h"

/* Column of a with-residual threshold: residual -1 -> 0, absent (appended zeros) -> 1, +1 -> 2. */
static inline int residual_column(const uint32_t *r, int c, int res_c) {
    if (!r || c >= res_c) return 1;
    return ((r[c >> 5] >> (c & 31)) & 1u) ? 0 : 2;
}

static void pw_equal_scales(const uint32_t *in, int pixels, int iw, int w, const uint32_t *sign,
                            const uint32_t *nz, int32_t alpha, int cout,
                            const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                            int res_c, int res_stride, uint32_t *out, int32_t *limit) {
    const int ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    const int cols = thr->has_residual ? 3 : 1;
    for (int o = 0; o < cout; ++o) {
        const int n = (int)popcount_words(nz + o * iw, iw);
        const int negative = (int)((thr->negative[o >> 5] >> (o & 31)) & 1u);
        for (int r = 0; r < cols; ++r)
            limit[o * cols + r] = count_limit(thr->threshold[o * cols + r], negative, alpha, n);
    }
    for (int p = 0; p < pixels; ++p) {
        const uint32_t *a = in + p * iw;
        const uint32_t *r = 0;
        if (thr->has_residual && residual) {
            const int y = p / w, x = p - y * w;
            r = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
        }
        uint32_t *dst = out + p * ow;
        for (int g = 0; g < ow; ++g) {
            const int o_end = (g + 1) * 32 < cout ? (g + 1) * 32 : cout;
            const uint32_t neg = thr->negative[g];
            uint32_t word = 0;
            if (iw == 1) {
                const uint32_t a0 = a[0];
                for (int o = g * 32; o < o_end; ++o) {
                    const uint32_t cnt = byte_sum(nibble_counts(nz[o] & (a0 ^ sign[o])), 0u);
                    const int32_t k = limit[o * cols + (cols == 3 ? residual_column(r, o, res_c) : 0)];
                    word |= (uint32_t)((int32_t)cnt > k) << (o & 31);
                }
            } else if (iw == 2) {
                const uint32_t a0 = a[0], a1 = a[1];
                for (int o = g * 32; o < o_end; ++o) {
                    const uint32_t *zo = nz + 2 * o, *so = sign + 2 * o;
                    const uint32_t cnt = byte_sum(nibble_counts(zo[0] & (a0 ^ so[0])) +
                                                      nibble_counts(zo[1] & (a1 ^ so[1])), 0u);
                    const int32_t k = limit[o * cols + (cols == 3 ? residual_column(r, o, res_c) : 0)];
                    word |= (uint32_t)((int32_t)cnt > k) << (o & 31);
                }
            } else {
                for (int o = g * 32; o < o_end; ++o) {
                    const uint32_t *zo = nz + iw * o, *so = sign + iw * o;
                    uint32_t cnt = 0;
                    int j = 0;
                    for (; j + 2 <= iw; j += 2)
                        cnt = byte_sum(nibble_counts(zo[j] & (a[j] ^ so[j])) +
                                           nibble_counts(zo[j + 1] & (a[j + 1] ^ so[j + 1])), cnt);
                    if (j < iw) cnt = byte_sum(nibble_counts(zo[j] & (a[j] ^ so[j])), cnt);
                    const int32_t k = limit[o * cols + (cols == 3 ? residual_column(r, o, res_c) : 0)];
                    word |= (uint32_t)((int32_t)cnt > k) << (o & 31);
                }
            }
            const uint32_t lanes = o_end - g * 32 == 32 ? ~0u : (1u << (o_end - g * 32)) - 1u;
            dst[g] = (word ^ neg) & lanes;
        }
    }
}

static void pw_unequal_scales(const uint32_t *in, int pixels, int iw, int w,
                              const uint32_t *sign, const uint32_t *nz, trit_scales_t s,
                              int cout, const trit_threshold_t *thr, const uint32_t *residual,
                              int res_w, int res_c, int res_stride, uint32_t *out,
                              int32_t *scratch) {
    const int ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    int32_t *base = scratch, *acc = scratch + cout;
    const int32_t k_t = -2 * s.wp, k_u = 2 * (s.wp + s.wn);
    for (int o = 0; o < cout; ++o) {
        int32_t pos = 0, negs = 0;
        for (int j = 0; j < iw; ++j) {
            pos += (int32_t)byte_sum(nibble_counts(nz[o * iw + j] & ~sign[o * iw + j]), 0u);
            negs += (int32_t)byte_sum(nibble_counts(nz[o * iw + j] & sign[o * iw + j]), 0u);
        }
        base[o] = s.wp * pos - s.wn * negs;
    }
    for (int p = 0; p < pixels; ++p) {
        const uint32_t *a = in + p * iw;
        for (int o = 0; o < cout; ++o) {
            const uint32_t *zo = nz + iw * o, *so = sign + iw * o;
            uint32_t ct = 0, cu = 0;
            int j = 0;
            for (; j + 2 <= iw; j += 2) {
                const uint32_t t0 = zo[j] & a[j], t1 = zo[j + 1] & a[j + 1];
                ct = byte_sum(nibble_counts(t0) + nibble_counts(t1), ct);
                cu = byte_sum(nibble_counts(t0 & so[j]) + nibble_counts(t1 & so[j + 1]), cu);
            }
            if (j < iw) {
                const uint32_t t0 = zo[j] & a[j];
                ct = byte_sum(nibble_counts(t0), ct);
                cu = byte_sum(nibble_counts(t0 & so[j]), cu);
            }
            acc[o] = base[o] + k_t * (int32_t)ct + k_u * (int32_t)cu;
        }
        const uint32_t *r = 0;
        if (residual) {
            const int y = p / w, x = p - y * w;
            r = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
        }
        trit_threshold_pack(acc, cout, thr, r, res_c, out + p * ow);
    }
}

void trit_pw_ternary_bin(const uint32_t *in, int h, int w, int cin, const uint32_t *sign,
                         const uint32_t *nz, trit_scales_t s, int cout,
                         const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                         int res_c, int res_stride, uint32_t *out, int32_t *scratch) {
    const int iw = TRIT_WORDS(cin);
    if (s.wp == s.wn && s.wp > 0)
        pw_equal_scales(in, h * w, iw, w, sign, nz, s.wp, cout, thr, residual, res_w, res_c,
                        res_stride, out, scratch);
    else
        pw_unequal_scales(in, h * w, iw, w, sign, nz, s, cout, thr, residual, res_w, res_c,
                          res_stride, out, scratch);
}
