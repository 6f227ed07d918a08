/* Board-port interface: everything the runtime needs from a board. Implementations live in
 * firmware/boards/<port>/ (mps: bare-metal QEMU boards; stm32cube: Nucleo boards; arduino: any
 * Arduino-core board). Kernels and the generated model never include this header. */
#ifndef TRIT_BOARD_H
#define TRIT_BOARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void trit_board_init(void);
/* The board's catalogue name (boards.yaml), for the host to check what it talks to. */
const char *trit_board_name(void);
void trit_board_putc(char c);
int trit_board_getc(void); /* blocking; returns 0..255 */
/* Counter for timing inferences, in the unit trit_board_counter_unit() names:
 * "cycles" (DWT CYCCNT, or SysTick on cores without DWT), "instructions" (QEMU -icount) or
 * "microseconds" (a board timer where no cycle counter can be read). */
uint64_t trit_board_counter(void);
const char *trit_board_counter_unit(void);
/* Microseconds for the MLPerf Tiny runner's m-lap-us timestamps: the board clock on silicon;
 * under QEMU -icount shift=0 the emulator's virtual clock (1 instruction = 1 ns), which
 * measures instructions, not time; trit reports the counter instead. */
uint64_t trit_board_timestamp_us(void);
/* Memory the host can fill with input images before boot (an emulator's loader device), for
 * bulk evaluation; NULL and *bytes = 0 on boards without one. */
const uint8_t *trit_board_bulk_region(uint32_t *bytes);

#ifdef __cplusplus
}
#endif

#endif
