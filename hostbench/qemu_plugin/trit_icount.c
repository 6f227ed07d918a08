/* trit_icount: a QEMU TCG plugin (user mode, plugin API version 1 as in QEMU 7.2) that counts
 * guest instructions, so that programs under qemu-aarch64 / qemu-arm can read a deterministic
 * instruction counter (never wall time).
 *
 * Counting: every translated block adds its instruction count to a 64-bit counter when it
 * starts executing (an inline TCG add, no callback per block).
 * Reading: the guest makes the otherwise unused system call TRIT_ICOUNT_SYSCALL (QEMU answers
 * it with -ENOSYS); at that moment this plugin writes the counter as 8 little-endian bytes at
 * offset 0 of the file named by its argument out=PATH, and the guest reads them back with
 * pread (firmware/boards/linux/board.c, which finds PATH in $TRIT_ICOUNT_FILE).
 *
 * Built by hostbench/qemu_user.py with the host compiler. The few API declarations it needs
 * are written out here (QEMU's own header is not packaged by Debian). */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define TRIT_ICOUNT_SYSCALL 0x7472 /* "tr": no Linux system call on any Arm ABI */

/* --- the QEMU plugin API subset used (qemu-plugin.h, API version 1) --------------------- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*syscall_cb)(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
                           uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                           uint64_t a7, uint64_t a8);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, syscall_cb cb);
void qemu_plugin_outs(const char *string);
/* ------------------------------------------------------------------------------------------ */

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t instructions;
static int out_fd = -1;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &instructions,
                                             qemu_plugin_tb_n_insns(tb));
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8) {
    (void)id, (void)vcpu, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6,
        (void)a7, (void)a8;
    if (num != TRIT_ICOUNT_SYSCALL) return;
    uint8_t le[8];
    for (int i = 0; i < 8; ++i) le[i] = (uint8_t)(instructions >> (8 * i));
    if (pwrite(out_fd, le, sizeof le, 0) != (ssize_t)sizeof le)
        qemu_plugin_outs("trit_icount: cannot write the counter file\n");
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; ++i) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            out_fd = open(argv[i] + 4, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        }
    }
    if (out_fd < 0) {
        qemu_plugin_outs("trit_icount: needs out=PATH (a writable file)\n");
        return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    return 0;
}
