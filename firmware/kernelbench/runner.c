/* Kernel job runner: executes kernel calls described in memory, times each one with the board
 * counter, and writes the outputs to the host: through Arm semihosting on bare-metal boards,
 * to a file in the working directory on Linux boards.
 *
 * The host (hostbench/kernel_jobs.py) places a job table in the board's bulk region (the
 * emulator's loader on bare-metal boards, $TRIT_BULK_FILE on Linux), then starts this program.
 * Table layout, little-endian uint32 words:
 *   [0] magic 0x424A4B54 ("TKJB")   [1] number of jobs   [2] the address the host laid the
 *   table out at (pointers below are relative to it)   [3] 0   [4..] jobs of JOB_WORDS words:
 *   op, flavour (0 = the build's flavour, 1 = the portable reference), repeat, out address,
 *   out bytes, then the kernel's arguments in signature order (pointers as addresses, 0 for
 *   NULL; a trit_threshold_t as threshold, negative, flags (bit 0 has_residual, bits 8..15 the
 *   thresholds' bytes each: 4, 2 or 1); trit_scales_t as wp, wn;
 *   a trit_requant_t as bias, mult, shift, act_min).
 * Results file "kernel-results.bin": per job, uint32 job index, uint32 output bytes, uint64
 * counter ticks for all repeats (unit: trit_board_counter_unit()), then the output bytes. */
#include <stdint.h>

#include "trit/board.h"
#include "trit/kernels.h"

#define MAGIC 0x424A4B54u
#define JOB_WORDS 32
#define HEAD_WORDS 4
#define ARG0 5

enum { OP_CONV_INPUT = 1, OP_PW = 2, OP_DW = 3, OP_POOL = 4, OP_DENSE = 5,
       OP_THRESHOLD_PACK = 6, OP_CONV_S8 = 7, OP_DW_S8 = 8, OP_ADD_S8 = 9,
       OP_PW_TERN_S8 = 10, OP_DW_TERN_S8 = 11, OP_ADD_RES_S8 = 12, OP_POOL_S8 = 13,
       OP_SIGN_PACK_S8 = 14, OP_PW_BIN_S8 = 15 };

/* The portable reference twins, compiled with their names prefixed by ref_. */
extern __typeof__(trit_conv_input_s8) ref_trit_conv_input_s8;
extern __typeof__(trit_pw_ternary_bin) ref_trit_pw_ternary_bin;
extern __typeof__(trit_dw_ternary_bin) ref_trit_dw_ternary_bin;
extern __typeof__(trit_global_sum_pool_bin) ref_trit_global_sum_pool_bin;
extern __typeof__(trit_dense_ternary) ref_trit_dense_ternary;
extern __typeof__(trit_threshold_pack) ref_trit_threshold_pack;
extern __typeof__(trit_conv_s8) ref_trit_conv_s8;
extern __typeof__(trit_dw_s8) ref_trit_dw_s8;
extern __typeof__(trit_add_s8) ref_trit_add_s8;
extern __typeof__(trit_pw_ternary_s8) ref_trit_pw_ternary_s8;
extern __typeof__(trit_dw_ternary_s8) ref_trit_dw_ternary_s8;
extern __typeof__(trit_add_residual_s8) ref_trit_add_residual_s8;
extern __typeof__(trit_global_sum_pool_s8) ref_trit_global_sum_pool_s8;
extern __typeof__(trit_sign_pack_s8) ref_trit_sign_pack_s8;
extern __typeof__(trit_pw_ternary_bin_s8) ref_trit_pw_ternary_bin_s8;

typedef struct {
    __typeof__(trit_conv_input_s8) *conv_input_s8;
    __typeof__(trit_pw_ternary_bin) *pw_ternary_bin;
    __typeof__(trit_dw_ternary_bin) *dw_ternary_bin;
    __typeof__(trit_global_sum_pool_bin) *global_sum_pool_bin;
    __typeof__(trit_dense_ternary) *dense_ternary;
    __typeof__(trit_threshold_pack) *threshold_pack;
    __typeof__(trit_conv_s8) *conv_s8;
    __typeof__(trit_dw_s8) *dw_s8;
    __typeof__(trit_add_s8) *add_s8;
    __typeof__(trit_pw_ternary_s8) *pw_ternary_s8;
    __typeof__(trit_dw_ternary_s8) *dw_ternary_s8;
    __typeof__(trit_add_residual_s8) *add_residual_s8;
    __typeof__(trit_global_sum_pool_s8) *global_sum_pool_s8;
    __typeof__(trit_sign_pack_s8) *sign_pack_s8;
    __typeof__(trit_pw_ternary_bin_s8) *pw_ternary_bin_s8;
} flavour_t;

static const flavour_t flavours[2] = {
    {trit_conv_input_s8, trit_pw_ternary_bin, trit_dw_ternary_bin, trit_global_sum_pool_bin,
     trit_dense_ternary, trit_threshold_pack, trit_conv_s8, trit_dw_s8, trit_add_s8,
     trit_pw_ternary_s8, trit_dw_ternary_s8, trit_add_residual_s8, trit_global_sum_pool_s8,
     trit_sign_pack_s8, trit_pw_ternary_bin_s8},
    {ref_trit_conv_input_s8, ref_trit_pw_ternary_bin, ref_trit_dw_ternary_bin,
     ref_trit_global_sum_pool_bin, ref_trit_dense_ternary, ref_trit_threshold_pack,
     ref_trit_conv_s8, ref_trit_dw_s8, ref_trit_add_s8, ref_trit_pw_ternary_s8,
     ref_trit_dw_ternary_s8, ref_trit_add_residual_s8, ref_trit_global_sum_pool_s8,
     ref_trit_sign_pack_s8, ref_trit_pw_ternary_bin_s8},
};

#if defined(__linux__)
#include <stdio.h>
#include <stdlib.h>

typedef FILE *results_t;

static results_t results_open(void) { return fopen("kernel-results.bin", "wb"); }
static void results_write(results_t f, const void *buf, uint32_t len) { fwrite(buf, 1, len, f); }
static void results_close(results_t f) { fclose(f); }
static int results_failed(results_t f) { return f == NULL; }
static void finish(int ok) { exit(ok ? 0 : 1); }
#else
/* Arm semihosting (bkpt 0xAB on M-profile). */
static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

typedef int results_t;

static results_t results_open(void) {
    static const char name[] = "kernel-results.bin";
    const uint32_t args[3] = {(uint32_t)name, 5 /* "wb" */, sizeof name - 1};
    return semihost(0x01, args);
}

static void results_write(results_t fh, const void *buf, uint32_t len) {
    const uint32_t args[3] = {(uint32_t)fh, (uint32_t)buf, len};
    semihost(0x05, args);
}

static void results_close(results_t fh) { semihost(0x02, &fh); }
static int results_failed(results_t fh) { return fh < 0; }

static void finish(int ok) {
    /* ADP_Stopped_ApplicationExit (0x20026) exits QEMU with status 0; RunTimeErrorUnknown
     * (0x20023) with status 1. */
    semihost(0x18, (const void *)(ok ? 0x20026u : 0x20023u));
}
#endif

/* Where the table really is minus where the host laid it out. */
static uintptr_t relocation;

#define P(i) (a[i] ? (void *)(relocation + a[i]) : (void *)0)
#define I(i) ((int)a[i])

/* A trit_threshold_t from its three job words (thresholds, direction bits, flags). */
static trit_threshold_t threshold_arg(void *t, void *negative, uint32_t flags) {
    const uint32_t bytes = (flags >> 8) & 0xFFu;
    trit_threshold_t thr = {0, negative, (int)(flags & 1u), 0, 0};
    if (bytes == 1) thr.threshold8 = t;
    else if (bytes == 2) thr.threshold16 = t;
    else thr.threshold = t;
    return thr;
}

static void run_job(const uint32_t *job) {
    const flavour_t *f = &flavours[job[1] ? 1 : 0];
    const uint32_t *a = job + ARG0;
    switch (job[0]) {
    case OP_CONV_INPUT: {
        const trit_threshold_t thr = threshold_arg(P(9), P(10), a[11]);
        f->conv_input_s8(P(0), I(1), I(2), I(3), P(4), I(5), I(6), I(7), I(8), &thr, P(12),
                         P(13));
        break;
    }
    case OP_PW: {
        const trit_scales_t s = {I(6), I(7)};
        const trit_threshold_t thr = threshold_arg(P(9), P(10), a[11]);
        f->pw_ternary_bin(P(0), I(1), I(2), I(3), P(4), P(5), s, I(8), &thr, P(12), I(13),
                          I(14), I(15), P(16), P(17), P(18), P(19));
        break;
    }
    case OP_DW: {
        const trit_scales_t s = {I(5), I(6)};
        const trit_threshold_t thr = threshold_arg(P(10), P(11), a[12]);
        f->dw_ternary_bin(P(0), I(1), I(2), I(3), P(4), s, I(7), I(8), I(9), &thr, P(13),
                          P(14), P(15), I(16), I(17), I(18));
        break;
    }
    case OP_POOL:
        f->global_sum_pool_bin(P(0), I(1), I(2), P(3));
        break;
    case OP_DENSE: {
        const trit_scales_t s = {I(4), I(5)};
        f->dense_ternary(P(0), I(1), P(2), P(3), s, P(6), I(7), P(8));
        break;
    }
    case OP_THRESHOLD_PACK: {
        const trit_threshold_t thr = threshold_arg(P(2), P(3), a[4]);
        f->threshold_pack(P(0), I(1), &thr, P(5), I(6), P(7));
        break;
    }
    case OP_CONV_S8: {
        const trit_requant_t rq = {P(9), P(10), P(11), I(12)};
        f->conv_s8(P(0), I(1), I(2), I(3), P(4), I(5), I(6), I(7), I(8), &rq, P(13), P(14));
        break;
    }
    case OP_DW_S8: {
        const trit_requant_t rq = {P(8), P(9), P(10), I(11)};
        f->dw_s8(P(0), I(1), I(2), I(3), P(4), I(5), I(6), I(7), &rq, P(12), P(13));
        break;
    }
    case OP_ADD_S8:
        f->add_s8(P(0), P(1), I(2), I(3), I(4), I(5), I(6), P(7));
        break;
    case OP_PW_TERN_S8: {
        const trit_scales_t s = {I(5), I(6)};
        const trit_requant_t rq = {P(8), P(9), P(10), I(11)};
        f->pw_ternary_s8(P(0), I(1), I(2), P(3), P(4), s, I(7), &rq, P(12), P(13));
        break;
    }
    case OP_DW_TERN_S8: {
        const trit_scales_t s = {I(5), I(6)};
        const trit_requant_t rq = {P(10), P(11), P(12), I(13)};
        f->dw_ternary_s8(P(0), I(1), I(2), I(3), P(4), s, I(7), I(8), I(9), &rq, P(14),
                         P(15));
        break;
    }
    case OP_ADD_RES_S8:
        f->add_residual_s8(P(0), I(1), I(2), I(3), P(4), I(5), I(6), I(7), I(8), I(9), I(10),
                           I(11), P(12));
        break;
    case OP_POOL_S8:
        f->global_sum_pool_s8(P(0), I(1), I(2), P(3));
        break;
    case OP_SIGN_PACK_S8:
        f->sign_pack_s8(P(0), I(1), I(2), P(3));
        break;
    case OP_PW_BIN_S8: {
        const trit_scales_t s = {I(5), I(6)};
        const trit_requant_t rq = {P(8), P(9), P(10), I(11)};
        f->pw_ternary_bin_s8(P(0), I(1), I(2), P(3), P(4), s, I(7), &rq, P(12), P(13));
        break;
    }
    default:
        finish(0);
    }
}

int main(void) {
    trit_board_init();
    uint32_t size;
    const uint32_t *table = (const uint32_t *)trit_board_bulk_region(&size);
    if (!table || size < 4 * HEAD_WORDS || table[0] != MAGIC) finish(0);
    relocation = (uintptr_t)table - table[2];
    const results_t out = results_open();
    if (results_failed(out)) finish(0);
    const uint32_t jobs = table[1];
    for (uint32_t j = 0; j < jobs; ++j) {
        const uint32_t *job = table + HEAD_WORDS + j * JOB_WORDS;
        const uint64_t t0 = trit_board_counter();
        for (uint32_t r = 0; r < job[2]; ++r) run_job(job);
        const uint64_t ticks = trit_board_counter() - t0;
        const uint32_t head[4] = {j, job[4], (uint32_t)ticks, (uint32_t)(ticks >> 32)};
        results_write(out, head, sizeof head);
        results_write(out, (const void *)(relocation + job[3]), job[4]);
    }
    results_close(out);
    finish(1);
    return 0;
}
