/* NEON flavour: batch norm + sign (+ residual) as integer thresholds, eight channels per step
 * (two vector compares), packed 32 per word (bit c % 32 of word c / 32, 1 = -1); the channels
 * past the last multiple of 8 go one at a time. */
#include "neon_util.h"

void trit_threshold_pack(const int32_t *acc, int n, const trit_threshold_t *thr,
                         const uint32_t *residual, int res_channels, uint32_t *out) {
    TRIT_NEON_WIDEN_THRESHOLDS(thr, n);
    const uint32x4_t lane_bits = lane_bits4();
    for (int i = 0; i < TRIT_WORDS(n); ++i) out[i] = 0;
    const int n8 = n & ~7;
    for (int c = 0; c < n8; c += 8)
        out[c / 32] |= threshold_bits8(vld1q_s32(acc + c), vld1q_s32(acc + c + 4), c, thr,
                                       residual, res_channels, lane_bits) << (c % 32);
    for (int c = n8; c < n; ++c)
        out[c / 32] |= channel_bit(acc[c], c, thr, residual, res_channels) << (c % 32);
}
