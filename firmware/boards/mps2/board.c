/* Board support for MPS2 (AN385/AN386/AN500): CMSDK UART0 and a SysTick tick counter.
 *
 * Timing: real silicon would use DWT CYCCNT; QEMU has no cycle counter. Run under
 * `-icount shift=0`, SysTick (25 MHz reference) advances one tick per 40 instructions, so
 * trit_board_counter() reports instructions and trit_board_counter_unit() says so. */
#include "trit/board.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define SYSTICK_RELOAD 0x00FFFFFFu
#define INSTRUCTIONS_PER_TICK 40u

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { ++systick_wraps; }

void trit_board_init(void) {
    UART_BAUDDIV = 16;
    UART_CTRL = 3; /* TX and RX enable */
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7; /* core clock source, interrupt on wrap, enable */
    while (SYST_CVR == 0) {
        /* the first tick reloads the counter without a wrap interrupt */
    }
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
    uint32_t wraps, value, pending;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
        pending = SCB_ICSR & ICSR_PENDSTSET;
    } while (wraps != systick_wraps);
    /* a wrap whose interrupt is still pending: the value was reloaded, the count not yet */
    if (pending && value > SYSTICK_RELOAD / 2) ++wraps;
    const uint64_t ticks = (uint64_t)wraps * (SYSTICK_RELOAD + 1u) + (SYSTICK_RELOAD - value);
    return ticks * INSTRUCTIONS_PER_TICK;
}

const char *trit_board_counter_unit(void) { return "instructions"; }

/* QEMU -icount shift=0 advances virtual time 1 ns per instruction. */
uint64_t trit_board_timestamp_us(void) { return trit_board_counter() / 1000u; }

/* Memory the emulator's loader fills with images (bulk mode): boards.yaml `emulator.bulk`,
 * passed by the build as TRIT_BULK_ADDRESS / TRIT_BULK_BYTES (AN385/AN386: the 16 MiB PSRAM at
 * 0x21000000; AN500: the 16 MiB RAM at 0x60000000). */
#ifndef TRIT_BULK_ADDRESS
#define TRIT_BULK_ADDRESS 0x21000000u
#define TRIT_BULK_BYTES (16u << 20)
#endif

const uint8_t *trit_board_bulk_region(uint32_t *bytes) {
    *bytes = TRIT_BULK_BYTES;
    return (const uint8_t *)TRIT_BULK_ADDRESS;
}
