/* SysTick and DWT cycle counters by register address (see cortex_m_counters.h). */
#include "cortex_m_counters.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define SYST_RELOAD_MAX 0x00FFFFFFu

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define DWT_CTRL_CYCCNTENA 1u

uint64_t trit_systick_ticks(const volatile uint32_t *wraps) {
    uint32_t w, value, pending;
    do {
        w = *wraps;
        value = SYST_CVR;
        pending = SCB_ICSR & ICSR_PENDSTSET;
    } while (w != *wraps);
    const uint32_t reload = SYST_RVR & SYST_RELOAD_MAX;
    /* a wrap whose interrupt is still pending: the value was reloaded, the count not yet */
    if (pending && value > reload / 2) ++w;
    return (uint64_t)w * (reload + 1u) + (reload - value);
}

void trit_systick_start_free_running(void) {
    SYST_RVR = SYST_RELOAD_MAX;
    SYST_CVR = 0;
    SYST_CSR = 7; /* core clock source, interrupt on wrap, enable */
    while (SYST_CVR == 0) {
        /* the first tick reloads the counter without a wrap interrupt */
    }
}

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define HAS_DWT 1
#else
#define HAS_DWT 0 /* ARMv6-M / ARMv8-M Baseline: no CYCCNT */
#endif

#if HAS_DWT
static uint32_t dwt_last;
static uint64_t dwt_high;
#endif

int trit_dwt_start(void) {
#if HAS_DWT
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = 0xC5ACCE55u; /* unlock where a lock access register exists (Cortex-M7) */
    if (DWT_CTRL & DWT_CTRL_NOCYCCNT) return 0;
    if (!(DWT_CTRL & DWT_CTRL_CYCCNTENA)) { /* left running if a framework started it */
        DWT_CYCCNT = 0;
        DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    }
    dwt_last = DWT_CYCCNT;
    dwt_high = 0;
    return 1;
#else
    return 0;
#endif
}

uint64_t trit_dwt_cycles(void) {
#if HAS_DWT
    const uint32_t now = DWT_CYCCNT;
    if (now < dwt_last) dwt_high += 1ull << 32;
    dwt_last = now;
    return dwt_high + now;
#else
    return 0;
#endif
}
