/* Reference flavour: pointwise ternary x binary convolution by AND + popcount.
 * With a the activation bits (1 = -1), pm = nz & ~sign and nm = nz & sign:
 * P = popcount(pm) - 2 popcount(pm & a), N = popcount(nm) - 2 popcount(nm & a). */
#include "trit/kernels.h"

void trit_pw_ternary_bin(const uint32_t *in, int h, int w, int cin, const uint32_t *sign,
                         const uint32_t *nz, trit_scales_t s, int cout,
                         const trit_threshold_t *thr, const uint32_t *residual, int res_w,
                         int res_c, int res_stride, uint32_t *out, int32_t *scratch,
                         const uint32_t *sliced, const uint32_t *tables) {
    (void)sliced; /* the portable flavour counts per output channel */
    (void)tables;
    const int iw = TRIT_WORDS(cin), owords = TRIT_WORDS(cout), rw = TRIT_WORDS(res_c);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const uint32_t *a = in + (y * w + x) * iw;
            for (int o = 0; o < cout; ++o) {
                int32_t p = 0, n = 0;
                for (int j = 0; j < iw; ++j) {
                    const uint32_t pm = nz[o * iw + j] & ~sign[o * iw + j];
                    const uint32_t nm = nz[o * iw + j] & sign[o * iw + j];
                    p += trit_popcount32(pm) - 2 * trit_popcount32(pm & a[j]);
                    n += trit_popcount32(nm) - 2 * trit_popcount32(nm & a[j]);
                }
                scratch[o] = s.wp * p - s.wn * n;
            }
            const uint32_t *r = residual
                ? residual + ((y * res_stride) * res_w + x * res_stride) * rw : 0;
            trit_threshold_pack(scratch, cout, thr, r, res_c, out + (y * w + x) * owords);
        }
    }
}
