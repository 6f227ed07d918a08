/* Board support for Linux on Arm application processors (Raspberry Pi class) and for the same
 * program under QEMU user mode (boards.yaml: qemu-aarch64, qemu-armv7, rpi4-aarch64, ...).
 *
 * Serial link: stdin/stdout (a pipe, `ssh pi@host ./trit-runtime`, or a terminal, switched to
 * raw mode), or the serial device named by $TRIT_SERIAL (e.g. /dev/ttyGS0, the Pi's USB gadget
 * serial port, or /dev/serial0), opened raw at 115200 baud.
 *
 * Counter: with $TRIT_ICOUNT_FILE set (QEMU user mode with hostbench's trit_icount plugin), the
 * emulator's guest instruction count, read through the plugin's marker system call
 * (hostbench/qemu_plugin/trit_icount.c); otherwise clock_gettime(CLOCK_MONOTONIC) in
 * nanoseconds.
 *
 * Bulk region: the file named by $TRIT_BULK_FILE, read into memory at start (bulk evaluation
 * and the kernel job runner). */
#define _GNU_SOURCE
#include "trit/board.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TRIT_BOARD_NAME
#define TRIT_BOARD_NAME "linux"
#endif
#define TRIT_ICOUNT_SYSCALL 0x7472 /* answered by the trit_icount QEMU plugin */

static int in_fd = 0, out_fd = 1, icount_fd = -1;
static char out_buf[1024];
static size_t out_len;
static unsigned char in_buf[512];
static size_t in_pos, in_len;
static uint8_t *bulk;
static uint32_t bulk_bytes;

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void make_raw(int fd, int set_speed) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return; /* not a terminal: a pipe or a socket */
    cfmakeraw(&t);
    if (set_speed) cfsetspeed(&t, B115200);
    tcsetattr(fd, TCSANOW, &t);
}

static void load_bulk(const char *path) {
    const int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) die(path);
    bulk_bytes = (uint32_t)st.st_size;
    bulk = aligned_alloc(64, ((size_t)bulk_bytes + 63) / 64 * 64 + 64);
    if (!bulk) die("bulk region");
    for (size_t got = 0; got < bulk_bytes;) {
        const ssize_t n = read(fd, bulk + got, bulk_bytes - got);
        if (n <= 0) die(path);
        got += (size_t)n;
    }
    close(fd);
}

void trit_board_init(void) {
    const char *dev = getenv("TRIT_SERIAL");
    if (dev && *dev) {
        in_fd = out_fd = open(dev, O_RDWR | O_NOCTTY);
        if (in_fd < 0) die(dev);
        make_raw(in_fd, 1);
    } else {
        make_raw(0, 0);
    }
    const char *icount = getenv("TRIT_ICOUNT_FILE");
    if (icount && *icount && (icount_fd = open(icount, O_RDONLY)) < 0) die(icount);
    const char *bulk_file = getenv("TRIT_BULK_FILE");
    if (bulk_file && *bulk_file) load_bulk(bulk_file);
}

static void flush_out(void) {
    for (size_t done = 0; done < out_len;) {
        const ssize_t n = write(out_fd, out_buf + done, out_len - done);
        if (n <= 0) exit(0); /* the host went away */
        done += (size_t)n;
    }
    out_len = 0;
}

/* Output is sent a line at a time (every protocol line ends with '\n'). */
void trit_board_putc(char c) {
    out_buf[out_len++] = c;
    if (c == '\n' || out_len == sizeof out_buf) flush_out();
}

/* Blocking; the end of input (the host closed the link) ends the program. */
int trit_board_getc(void) {
    if (in_pos == in_len) {
        flush_out();
        const ssize_t n = read(in_fd, in_buf, sizeof in_buf);
        if (n <= 0) exit(0);
        in_pos = 0;
        in_len = (size_t)n;
    }
    return in_buf[in_pos++];
}

uint64_t trit_board_counter(void) {
    if (icount_fd >= 0) {
        uint64_t le = 0;
        syscall(TRIT_ICOUNT_SYSCALL);
        if (pread(icount_fd, &le, sizeof le, 0) != (ssize_t)sizeof le) die("instruction count");
        return le; /* the plugin writes little-endian; every Arm Linux ABI here is too */
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *trit_board_counter_unit(void) {
    return icount_fd >= 0 ? "instructions" : "nanoseconds";
}

/* Under the plugin, 1 instruction counts as 1 ns (as QEMU -icount shift=0 on the MPS boards):
 * the m-lap-us timestamps then measure instructions, not time. */
uint64_t trit_board_timestamp_us(void) { return trit_board_counter() / 1000u; }

const char *trit_board_name(void) { return TRIT_BOARD_NAME; }

const uint8_t *trit_board_bulk_region(uint32_t *bytes) {
    *bytes = bulk_bytes;
    return bulk;
}
