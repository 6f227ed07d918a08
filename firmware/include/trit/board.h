/* Board support interface: serial byte I/O and a monotonically increasing counter. */
#ifndef TRIT_BOARD_H
#define TRIT_BOARD_H

#include <stddef.h>
#include <stdint.h>

void trit_board_init(void);
void trit_board_putc(char c);
int trit_board_getc(void); /* blocking; returns 0..255 */
/* Counter for timing inferences, in the unit trit_board_counter_unit() names:
 * "cycles" (DWT CYCCNT on silicon) or "instructions" (QEMU -icount). */
uint64_t trit_board_counter(void);
const char *trit_board_counter_unit(void);
/* Microseconds for the MLPerf Tiny runner's m-lap-us timestamps: the board clock on silicon;
 * under QEMU -icount shift=0 the emulator's virtual clock (1 instruction = 1 ns), which
 * measures instructions, not time; trit reports the counter instead. */
uint64_t trit_board_timestamp_us(void);
/* Memory the host can fill with input images before boot (an emulator's loader device), for
 * bulk evaluation; NULL and *bytes = 0 on boards without one. */
const uint8_t *trit_board_bulk_region(uint32_t *bytes);

#endif
