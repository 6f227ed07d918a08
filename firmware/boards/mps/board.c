/* Board support for the Arm MPS2/MPS3 FPGA boards under QEMU (AN385/AN386/AN500: Cortex-M3/M4/M7;
 * AN547: Cortex-M55): CMSDK UART0 and a SysTick tick counter.
 *
 * Timing: QEMU has no cycle counter. Run under `-icount shift=0` the guest executes one
 * instruction per virtual nanosecond and SysTick, clocked by the core clock, advances one tick
 * per TRIT_INSTRUCTIONS_PER_TICK_NUM / _DEN instructions (MPS2 at 25 MHz: 40; AN547 at 32 MHz:
 * 125/4), so trit_board_counter() reports instructions and trit_board_counter_unit() says so.
 * The UART base, the ratio and the bulk region come from boards.yaml as -D flags. */
#include "trit/board.h"

#include "cortex_m_counters.h"

#ifndef TRIT_UART_BASE
#define TRIT_UART_BASE 0x40004000u /* MPS2 CMSDK UART0 */
#endif
#ifndef TRIT_INSTRUCTIONS_PER_TICK_NUM
#define TRIT_INSTRUCTIONS_PER_TICK_NUM 40u
#define TRIT_INSTRUCTIONS_PER_TICK_DEN 1u
#endif
#ifndef TRIT_BOARD_NAME
#define TRIT_BOARD_NAME "mps2"
#endif

#define UART0_BASE TRIT_UART_BASE
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { ++systick_wraps; }

void trit_board_init(void) {
    UART_BAUDDIV = 16;
    UART_CTRL = 3; /* TX and RX enable */
    trit_systick_start_free_running();
}

void trit_board_putc(char c) {
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = (uint32_t)(unsigned char)c;
}

int trit_board_getc(void) {
    while (!(UART_STATE & STATE_RX_FULL)) {
    }
    return (int)(UART_DATA & 0xFFu);
}

uint64_t trit_board_counter(void) {
    return trit_systick_ticks(&systick_wraps) * TRIT_INSTRUCTIONS_PER_TICK_NUM /
           TRIT_INSTRUCTIONS_PER_TICK_DEN;
}

const char *trit_board_name(void) { return TRIT_BOARD_NAME; }

const char *trit_board_counter_unit(void) { return "instructions"; }

/* QEMU -icount shift=0 advances virtual time 1 ns per instruction. */
uint64_t trit_board_timestamp_us(void) { return trit_board_counter() / 1000u; }

/* Memory the emulator's loader fills with images (bulk mode): boards.yaml `emulator.bulk`,
 * passed by the build as TRIT_BULK_ADDRESS / TRIT_BULK_BYTES (AN385/AN386: the 16 MiB PSRAM at
 * 0x21000000; AN500: the 16 MiB RAM at 0x60000000; AN547: the 4 MiB ISRAM at 0x31000000). */
#ifndef TRIT_BULK_ADDRESS
#define TRIT_BULK_ADDRESS 0x21000000u
#define TRIT_BULK_BYTES (16u << 20)
#endif

const uint8_t *trit_board_bulk_region(uint32_t *bytes) {
    *bytes = TRIT_BULK_BYTES;
    return (const uint8_t *)TRIT_BULK_ADDRESS;
}
