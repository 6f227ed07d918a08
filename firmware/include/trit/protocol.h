/* The serial protocol: MLPerf Tiny / EEMBC DUT text commands ending in '%'.
 *
 *   name%            m-name-[<model>]
 *   profile%         m-profile-[<model>] m-model-[...] m-board-[<board>] m-counter-[<unit>]
 *   db load N%       m-[Expecting N bytes]            (N <= TRIT_MODEL_INPUT_BYTES)
 *   db <hex bytes>%  m-load-done once N bytes arrived  (pairs of hex digits)
 *   infer N W%       W warm-up runs, then N timed runs; m-lap-<unit>-[<per inference>]
 *   results%         m-results-[l0,l1,...] with the int32 logits, m-pred-[k]
 *   bulk N%          run the N images the host placed in the board's bulk region (emulators:
 *                    loader device) and print m-bulk-[i,pred,counter,fnv1a32(logits)] each
 * Every command is answered and followed by "m-ready"; malformed input gets "e-[...]".
 */
#ifndef TRIT_PROTOCOL_H
#define TRIT_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define TRIT_CMD_MAX 256

typedef struct {
    char line[TRIT_CMD_MAX];
    size_t len;
    int overflow;
    uint8_t *input;       /* model input buffer, capacity bytes */
    size_t capacity;
    size_t expected;      /* bytes announced by "db load" */
    size_t loaded;
    int32_t *logits;
    int classes;
    int pred;
} trit_protocol_t;

/* Feed one received byte; runs a command when '%' completes it. */
void trit_protocol_feed(trit_protocol_t *p, char c);
void trit_protocol_init(trit_protocol_t *p, uint8_t *input, size_t capacity, int32_t *logits,
                        int classes);

#endif
