/* ARMv7E-M flavour: the int8 comparison network's residual add (kernels.h): the packed SMLAD
 * run of add_run.h (USAT to 0..127 for act_min 0, SSAT to -128..127 otherwise, any other floor
 * applied after), on cores with Helium its vector run. */
#include "add_run.h"

void trit_add_s8(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
                 int32_t act_min, int8_t *out) {
#ifdef __ARM_FEATURE_MVE
    add_run_helium(a, b, n, ma, mb, shift, act_min, out);
#else
    if (act_min == 0) {
        add_run_packed(a, b, n, ma, mb, shift, out, 1);
        return;
    }
    add_run_packed(a, b, n, ma, mb, shift, out, 0);
    if (act_min > -128) /* the comparison network uses -128 and 0; any other floor after */
        for (int i = 0; i < n; ++i)
            if (out[i] < act_min) out[i] = (int8_t)act_min;
#endif
}
