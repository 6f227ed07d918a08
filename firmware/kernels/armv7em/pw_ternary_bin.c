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

static void pw_equal_scales(const uint32_t *in, int pixels, int iw, int w, const uint32_t *sign,
                            const uint32_t *nz, int32_t alpha, int cout,
                            const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                            int res_c, int res_stride, uint32_t *out, int32_t *scratch) {
    const int ow = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    const int with_res = thr->has_residual;
    /* count limits: lim_m for residual -1, lim_p for residual +1 (equal when there is no
     * residual, or for channels past the residual's, which see residual 0) */
    int32_t *lim_p = scratch, *lim_m = scratch + cout;
    for (int o = 0; o < cout; ++o) {
        const int n = (int)popcount_words(nz + o * iw, iw);
        const int negative = (int)((thr->negative[o >> 5] >> (o & 31)) & 1u);
        if (!with_res) {
            lim_p[o] = lim_m[o] = count_limit(thr->threshold[o], negative, alpha, n);
        } else if (o < res_c && residual) {
            lim_m[o] = count_limit(thr->threshold[3 * o], negative, alpha, n);
            lim_p[o] = count_limit(thr->threshold[3 * o + 2], negative, alpha, n);
        } else {
            lim_p[o] = lim_m[o] = count_limit(thr->threshold[3 * o + 1], negative, alpha, n);
        }
    }
    const swar_masks_t m = swar_masks();
    int p = 0;
    if (iw <= 2) {
        /* two pixels per pass: each weight word is loaded once for both */
        for (; p + 1 < pixels; p += 2) {
            const uint32_t *a = in + p * iw, *b = a + iw;
            const uint32_t *ra = 0, *rb = 0;
            if (with_res && residual) {
                const int y = p / w, x = p - y * w, y2 = (p + 1) / w, x2 = p + 1 - y2 * w;
                ra = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
                rb = residual + ((y2 * res_stride) * res_w + x2 * res_stride) * rw;
            }
            for (int g = 0; g < ow; ++g) {
                const int o0 = g * 32, o_end = o0 + 32 < cout ? o0 + 32 : cout;
                const uint32_t rwa = (ra && g < rw) ? ra[g] : 0u, rwb = (rb && g < rw) ? rb[g] : 0u;
                uint32_t wa = 0, wb = 0;
                if (iw == 1) {
                    const uint32_t a0 = a[0], b0 = b[0];
                    for (int o = o_end - 1; o >= o0; --o) {
                        const uint32_t z = nz[o], sg = sign[o];
                        const uint32_t ca = popcount1(z & (a0 ^ sg), m), cb = popcount1(z & (b0 ^ sg), m);
                        const int32_t ka = ((rwa >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                        const int32_t kb = ((rwb >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                        wa = (wa << 1) | ((uint32_t)(ka - (int32_t)ca) >> 31);
                        wb = (wb << 1) | ((uint32_t)(kb - (int32_t)cb) >> 31);
                    }
                } else {
                    const uint32_t a0 = a[0], a1 = a[1], b0 = b[0], b1 = b[1];
                    for (int o = o_end - 1; o >= o0; --o) {
                        const uint32_t z0 = nz[2 * o], z1 = nz[2 * o + 1];
                        const uint32_t s0 = sign[2 * o], s1 = sign[2 * o + 1];
                        const uint32_t ca = popcount2(z0 & (a0 ^ s0), z1 & (a1 ^ s1), m);
                        const uint32_t cb = popcount2(z0 & (b0 ^ s0), z1 & (b1 ^ s1), m);
                        const int32_t ka = ((rwa >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                        const int32_t kb = ((rwb >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                        wa = (wa << 1) | ((uint32_t)(ka - (int32_t)ca) >> 31);
                        wb = (wb << 1) | ((uint32_t)(kb - (int32_t)cb) >> 31);
                    }
                }
                out[p * ow + g] = wa ^ thr->negative[g];
                out[(p + 1) * ow + g] = wb ^ thr->negative[g];
            }
        }
    }
    for (; p < pixels; ++p) {
        const uint32_t *a = in + p * iw;
        const uint32_t *r = 0;
        if (with_res && residual) {
            const int y = p / w, x = p - y * w;
            r = residual + ((y * res_stride) * res_w + x * res_stride) * rw;
        }
        uint32_t *dst = out + p * ow;
        for (int g = 0; g < ow; ++g) {
            const int o0 = g * 32, o_end = o0 + 32 < cout ? o0 + 32 : cout;
            const uint32_t rword = (r && g < rw) ? r[g] : 0u;
            uint32_t word = 0; /* built from the last channel down: bit (o - o0) for o */
            if (iw == 1) {
                const uint32_t a0 = a[0];
                for (int o = o_end - 1; o >= o0; --o) {
                    const uint32_t cnt = popcount1(nz[o] & (a0 ^ sign[o]), m);
                    const int32_t k = ((rword >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                    word = (word << 1) | ((uint32_t)(k - (int32_t)cnt) >> 31);
                }
            } else if (iw == 2) {
                const uint32_t a0 = a[0], a1 = a[1];
                for (int o = o_end - 1; o >= o0; --o) {
                    const uint32_t *zo = nz + 2 * o, *so = sign + 2 * o;
                    const uint32_t cnt = popcount2(zo[0] & (a0 ^ so[0]), zo[1] & (a1 ^ so[1]), m);
                    const int32_t k = ((rword >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                    word = (word << 1) | ((uint32_t)(k - (int32_t)cnt) >> 31);
                }
            } else {
                for (int o = o_end - 1; o >= o0; --o) {
                    const uint32_t *zo = nz + iw * o, *so = sign + iw * o;
                    uint32_t cnt = 0;
                    int j = 0;
                    for (; j + 2 <= iw; j += 2)
                        cnt += popcount2(zo[j] & (a[j] ^ so[j]), zo[j + 1] & (a[j + 1] ^ so[j + 1]), m);
                    if (j < iw) cnt += popcount1(zo[j] & (a[j] ^ so[j]), m);
                    const int32_t k = ((rword >> (o & 31)) & 1u) ? lim_m[o] : lim_p[o];
                    word = (word << 1) | ((uint32_t)(k - (int32_t)cnt) >> 31);
                }
            }
            dst[g] = word ^ thr->negative[g];
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
    const swar_masks_t m = swar_masks();
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
                ct += popcount2(t0, t1, m);
                cu += popcount2(t0 & so[j], t1 & so[j + 1], m);
            }
            if (j < iw) {
                const uint32_t t0 = zo[j] & a[j];
                ct += popcount1(t0, m);
                cu += popcount1(t0 & so[j], m);
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
