/* Reference flavour: batch norm + sign (+ residual) as integer thresholds, packed 32 per word. */
#include "trit/kernels.h"

void trit_threshold_pack(const int32_t *acc, int n, const trit_threshold_t *thr,
                         const uint32_t *residual, int res_channels, uint32_t *out) {
    for (int wi = 0; wi < TRIT_WORDS(n); ++wi) out[wi] = 0;
    for (int c = 0; c < n; ++c) {
        int32_t t;
        if (thr->has_residual) {
            int r = 0; /* channels past the residual's are appended zeros */
            if (residual && c < res_channels) r = ((residual[c / 32] >> (c % 32)) & 1u) ? -1 : 1;
            t = trit_threshold_at(thr, 3 * c + r + 1);
        } else {
            t = trit_threshold_at(thr, c);
        }
        int negative = (int)((thr->negative[c / 32] >> (c % 32)) & 1u);
        int plus = negative ? (acc[c] <= t) : (acc[c] >= t);
        if (!plus) out[c / 32] |= 1u << (c % 32);
    }
}
