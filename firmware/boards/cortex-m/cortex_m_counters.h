/* Counters every Cortex-M core has, by register address (no CMSIS headers), shared by the
 * board ports:
 *
 *   SysTick  24-bit down-counter at the core clock, in every Cortex-M (M0+ included). Extended
 *            to 64 bits by a wrap count that the port's SysTick handler increments (the STM32
 *            HAL's millisecond tick qualifies).
 *   DWT      32-bit CYCCNT on ARMv7-M and ARMv8-M Mainline cores (M3, M4, M7, M33, M55) where
 *            the implementation includes it; extended to 64 bits in software.
 */
#ifndef TRIT_CORTEX_M_COUNTERS_H
#define TRIT_CORTEX_M_COUNTERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ticks (core clock periods) since SysTick started: wraps * (RELOAD + 1) + elapsed part of the
 * current period. `wraps` is read until stable; a wrap whose interrupt is still pending is
 * counted. Interrupts must be enabled for the handler to advance `wraps`. */
uint64_t trit_systick_ticks(const volatile uint32_t *wraps);

/* Start SysTick free-running at the core clock with the longest period (2^24 ticks) and its
 * interrupt enabled; the port's SysTick_Handler increments the wrap count. */
void trit_systick_start_free_running(void);

/* Enable DWT CYCCNT (DEMCR.TRCENA, DWT_CTRL.CYCCNTENA). Returns 0 if the core has no cycle
 * counter (ARMv6-M, or DWT_CTRL.NOCYCCNT set), 1 otherwise. */
int trit_dwt_start(void);

/* CYCCNT extended to 64 bits: correct as long as it is read at least once per 2^32 cycles. */
uint64_t trit_dwt_cycles(void);

#ifdef __cplusplus
}
#endif

#endif
