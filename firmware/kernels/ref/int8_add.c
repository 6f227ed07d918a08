/* Portable flavour: the int8 comparison network's residual add. */
#include "trit/kernels.h"

void trit_add_s8(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
                 int32_t act_min, int8_t *out) {
    const int32_t round = (int32_t)(1u << (shift - 1));
    for (int i = 0; i < n; ++i) {
        int32_t y = (a[i] * ma + b[i] * mb + round) >> shift;
        if (y < act_min) y = act_min;
        if (y > 127) y = 127;
        out[i] = (int8_t)y;
    }
}
