/* Vector table and reset handler for Cortex-M (MPS2 boards): copy .data, zero .bss, run main. */
#include <stdint.h>

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_top;
extern int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);

static void Default_Handler(void) {
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_stack_top), Reset_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, 0, 0, 0, 0, Default_Handler,
    Default_Handler, 0, Default_Handler, SysTick_Handler,
};

void Reset_Handler(void) {
    uint32_t *src = &_data_load, *dst = &_data_start;
    while (dst < &_data_end) *dst++ = *src++;
    for (dst = &_bss_start; dst < &_bss_end;) *dst++ = 0;
#if defined(__ARM_FP)
    /* enable CP10/CP11 (FPU) */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
#endif
    main();
    for (;;) {
    }
}
