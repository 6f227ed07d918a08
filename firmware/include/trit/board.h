/* Board support interface: serial byte I/O and a monotonically increasing counter. */
#ifndef TRIT_BOARD_H
#define TRIT_BOARD_H

#include <stdint.h>

void trit_board_init(void);
void trit_board_putc(char c);
int trit_board_getc(void); /* blocking; returns 0..255 */
/* Counter for timing inferences, in the unit trit_board_counter_unit() names:
 * "cycles" (DWT CYCCNT on silicon) or "instructions" (QEMU -icount). */
uint64_t trit_board_counter(void);
const char *trit_board_counter_unit(void);

#endif
