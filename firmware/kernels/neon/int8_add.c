/* NEON flavour: the int8 comparison network's residual add (kernels.h), eight values per pass
 * (add_run.h). */
#include "add_run.h"

void trit_add_s8(const int8_t *a, const int8_t *b, int n, int32_t ma, int32_t mb, int shift,
                 int32_t act_min, int8_t *out) {
    add_run_neon(a, b, n, ma, mb, shift, act_min, out);
}
