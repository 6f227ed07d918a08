/* Firmware entry of bare-metal board ports: initialise the board, then serve the serial
 * protocol forever. (Arduino ports have their own entry: setup() and loop().) */
#include "trit/board.h"
#include "trit/runtime.h"

int main(void) {
    trit_board_init();
    trit_runtime_start();
    for (;;) trit_runtime_feed((char)trit_board_getc());
}
