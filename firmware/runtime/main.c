/* Firmware entry: initialise the board, then serve the serial protocol forever. */
#include "model.h"
#include "trit/board.h"
#include "trit/protocol.h"

static uint8_t input[TRIT_MODEL_INPUT_BYTES];
static int32_t logits[TRIT_MODEL_CLASSES];
static trit_protocol_t protocol;

int main(void) {
    trit_board_init();
    trit_protocol_init(&protocol, input, sizeof input, logits, TRIT_MODEL_CLASSES);
    const char *hello = "m-init-done\r\nm-ready\r\n";
    while (*hello) trit_board_putc(*hello++);
    for (;;) trit_protocol_feed(&protocol, (char)trit_board_getc());
}
