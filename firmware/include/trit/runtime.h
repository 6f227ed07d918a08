/* The runtime: the model's input and output buffers behind the serial protocol. A board port
 * calls trit_runtime_start() once its serial port is up, then feeds every received byte to
 * trit_runtime_feed(). Bare-metal ports use runtime/main.c (a blocking loop over
 * trit_board_getc()); framework ports (Arduino) call both from setup() and loop(). */
#ifndef TRIT_RUNTIME_H
#define TRIT_RUNTIME_H

#ifdef __cplusplus
extern "C" {
#endif

void trit_runtime_start(void); /* prints m-init-done, m-ready */
void trit_runtime_feed(char c);

#ifdef __cplusplus
}
#endif

#endif
