/* The runtime's state: input image, logits and the protocol parser that serves them. */
#include "trit/runtime.h"

#include "model.h"
#include "trit/board.h"
#include "trit/protocol.h"

static uint8_t input[TRIT_MODEL_INPUT_BYTES];
static int32_t logits[TRIT_MODEL_CLASSES];
static trit_protocol_t protocol;

void trit_runtime_start(void) {
    trit_protocol_init(&protocol, input, sizeof input, logits, TRIT_MODEL_CLASSES);
    const char *hello = "m-init-done\r\nm-ready\r\n";
    while (*hello) trit_board_putc(*hello++);
}

void trit_runtime_feed(char c) { trit_protocol_feed(&protocol, c); }
