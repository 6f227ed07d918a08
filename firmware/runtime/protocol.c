/* MLPerf Tiny / EEMBC DUT text protocol over the board's serial port (see trit/protocol.h). */
#include "trit/protocol.h"

#include "model.h"
#include "trit/board.h"

static void put_str(const char *s) {
    while (*s) trit_board_putc(*s++);
}

static void put_u64(uint64_t v) {
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_str(buf + i);
}

static void put_i32(int32_t v) {
    if (v < 0) {
        trit_board_putc('-');
        put_u64((uint64_t)(-(int64_t)v));
    } else {
        put_u64((uint64_t)v);
    }
}

static void ready(void) { put_str("m-ready\r\n"); }

static void error(const char *msg) {
    put_str("e-[");
    put_str(msg);
    put_str("]\r\n");
}

static int starts_with(const char *s, const char *prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return 0;
    return 1;
}

/* Parse a decimal unsigned number; returns the position after it or 0 on error. */
static const char *parse_uint(const char *s, uint32_t *out) {
    uint64_t v = 0;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s++ - '0');
        if (v > 0xFFFFFFFFu) return 0;
    }
    *out = (uint32_t)v;
    return s;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void cmd_db(trit_protocol_t *p, const char *arg) {
    if (starts_with(arg, "load ")) {
        uint32_t n;
        const char *end = parse_uint(arg + 5, &n);
        if (!end || *end) {
            error("db load needs a byte count");
        } else if (n == 0 || n > p->capacity) {
            error("db load size out of range");
        } else {
            p->expected = n;
            p->loaded = 0;
            put_str("m-[Expecting ");
            put_u64(n);
            put_str(" bytes]\r\n");
        }
        return;
    }
    if (!p->expected) {
        error("db without db load");
        return;
    }
    const char *s = arg;
    size_t count = 0;
    for (const char *q = s; *q; ++q) {
        if (*q == ' ') continue;
        if (hex_value(*q) < 0) {
            error("bad hex digit");
            return;
        }
        ++count;
    }
    if (count % 2) {
        error("odd number of hex digits");
        return;
    }
    if (p->loaded + count / 2 > p->expected) {
        error("more bytes than announced");
        return;
    }
    int hi = -1;
    for (; *s; ++s) {
        if (*s == ' ') continue;
        int v = hex_value(*s);
        if (hi < 0) {
            hi = v;
        } else {
            p->input[p->loaded++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (p->loaded == p->expected) put_str("m-load-done\r\n");
}

static void cmd_infer(trit_protocol_t *p, const char *arg) {
    uint32_t n = 1, warm = 0;
    if (*arg) {
        const char *end = parse_uint(arg, &n);
        if (end && *end == ' ') end = parse_uint(end + 1, &warm);
        if (!end || *end || n == 0) {
            error("infer N W: N >= 1 runs after W warm-up runs");
            return;
        }
    }
    if (p->loaded != TRIT_MODEL_INPUT_BYTES) {
        error("load a whole input with db load first");
        return;
    }
    /* EEMBC / MLPerf Tiny sequence: the runner subtracts the two m-lap-us timestamps. */
    put_str("m-warmup-start-");
    put_u64(warm);
    put_str("\r\n");
    for (uint32_t i = 0; i < warm; ++i) p->pred = trit_model_run(p->input, p->logits);
    put_str("m-warmup-done\r\nm-infer-start-");
    put_u64(n);
    put_str("\r\n");
    const uint64_t us0 = trit_board_timestamp_us();
    const uint64_t t0 = trit_board_counter();
    for (uint32_t i = 0; i < n; ++i) p->pred = trit_model_run(p->input, p->logits);
    const uint64_t t1 = trit_board_counter();
    const uint64_t us1 = trit_board_timestamp_us();
    put_str("m-lap-us-");
    put_u64(us0);
    put_str("\r\nm-lap-us-");
    put_u64(us1);
    put_str("\r\nm-infer-done\r\n");
    /* trit's own line: the counter per inference, in the unit the board measures */
    put_str("m-lap-");
    put_str(trit_board_counter_unit());
    put_str("-[");
    put_u64((t1 - t0) / n);
    put_str("]\r\n");
}

static void cmd_results(trit_protocol_t *p) {
    put_str("m-results-[");
    for (int k = 0; k < p->classes; ++k) {
        if (k) trit_board_putc(',');
        put_i32(p->logits[k]);
    }
    put_str("]\r\nm-pred-[");
    put_i32(p->pred);
    put_str("]\r\n");
}

/* FNV-1a over the little-endian bytes of the logits: lets the host check them bit-exactly. */
static uint32_t logits_hash(const int32_t *logits, int n) {
    uint32_t h = 2166136261u;
    for (int k = 0; k < n; ++k)
        for (int b = 0; b < 4; ++b) {
            h ^= ((uint32_t)logits[k] >> (8 * b)) & 0xFFu;
            h *= 16777619u;
        }
    return h;
}

static void cmd_bulk(trit_protocol_t *p, const char *arg) {
    uint32_t n, bytes;
    const uint8_t *region = trit_board_bulk_region(&bytes);
    const char *end = parse_uint(arg, &n);
    if (!region) {
        error("this board has no bulk region");
    } else if (!end || *end || n == 0 || (uint64_t)n * TRIT_MODEL_INPUT_BYTES > bytes) {
        error("bulk N: 1 <= N images that fit the bulk region");
    } else {
        for (uint32_t i = 0; i < n; ++i) {
            const uint64_t t0 = trit_board_counter();
            p->pred = trit_model_run(region + (size_t)i * TRIT_MODEL_INPUT_BYTES, p->logits);
            const uint64_t t1 = trit_board_counter();
            put_str("m-bulk-[");
            put_u64(i);
            trit_board_putc(',');
            put_i32(p->pred);
            trit_board_putc(',');
            put_u64(t1 - t0);
            trit_board_putc(',');
            put_u64(logits_hash(p->logits, p->classes));
            put_str("]\r\n");
        }
    }
}

/* `layers`: one profiled inference on the loaded input; per layer m-layer-[i,name,count]. */
static void cmd_layers(trit_protocol_t *p) {
    if (p->loaded != TRIT_MODEL_INPUT_BYTES) {
        error("load a whole input with db load first");
        return;
    }
    static uint64_t marks[TRIT_MODEL_LAYERS + 1];
    p->pred = trit_model_run_profiled(p->input, p->logits, trit_board_counter, marks);
    for (int i = 0; i < TRIT_MODEL_LAYERS; ++i) {
        put_str("m-layer-[");
        put_u64((uint64_t)i);
        trit_board_putc(',');
        put_str(trit_model_layer_names[i]);
        trit_board_putc(',');
        put_u64(marks[i + 1] - marks[i]);
        put_str("]\r\n");
    }
    put_str("m-layer-total-");
    put_str(trit_board_counter_unit());
    put_str("-[");
    put_u64(marks[TRIT_MODEL_LAYERS] - marks[0]);
    put_str("]\r\n");
}

static void run_command(trit_protocol_t *p, const char *cmd) {
    if (!*cmd) {
        /* empty command: just answer ready */
    } else if (!starts_with(cmd, "name") && !starts_with(cmd, "profile") &&
               !starts_with(cmd, "db") && !starts_with(cmd, "infer") &&
               !starts_with(cmd, "results") && !starts_with(cmd, "bulk ") &&
               !starts_with(cmd, "layers")) {
        error("unknown command");
    } else if (cmd[0] == 'n' && !cmd[4]) {
        put_str("m-name-dut-[" TRIT_MODEL_NAME "]\r\n");
    } else if (cmd[0] == 'p' && !cmd[7]) {
        put_str("m-profile-[trit " TRIT_MODEL_NAME "]\r\nm-model-[inputs ");
        put_u64(TRIT_MODEL_INPUT_BYTES);
        put_str(" B, classes ");
        put_u64(TRIT_MODEL_CLASSES);
        put_str(", weights ");
        put_u64(TRIT_MODEL_WEIGHT_BYTES);
        put_str(" B, arena ");
        put_u64(TRIT_MODEL_ARENA_BYTES);
        put_str(" B]\r\nm-board-[");
        put_str(trit_board_name());
        put_str("]\r\nm-counter-[");
        put_str(trit_board_counter_unit());
        put_str("]\r\n");
    } else if (cmd[0] == 'd' && cmd[1] == 'b' && cmd[2] == ' ') {
        cmd_db(p, cmd + 3);
    } else if (cmd[0] == 'i' && (cmd[5] == 0 || cmd[5] == ' ')) {
        cmd_infer(p, cmd[5] ? cmd + 6 : cmd + 5);
    } else if (cmd[0] == 'b') {
        cmd_bulk(p, cmd + 5);
    } else if (cmd[0] == 'r' && !cmd[7]) {
        cmd_results(p);
    } else if (cmd[0] == 'l' && !cmd[6]) {
        cmd_layers(p);
    } else {
        error("malformed command");
    }
    ready();
}

void trit_protocol_init(trit_protocol_t *p, uint8_t *input, size_t capacity, int32_t *logits,
                        int classes) {
    p->len = 0;
    p->overflow = 0;
    p->input = input;
    p->capacity = capacity;
    p->expected = p->loaded = 0;
    p->logits = logits;
    p->classes = classes;
    p->pred = -1;
    for (int k = 0; k < classes; ++k) logits[k] = 0;
}

void trit_protocol_feed(trit_protocol_t *p, char c) {
    if (c == '%') {
        if (p->overflow) {
            error("command too long");
            ready();
        } else {
            p->line[p->len] = 0;
            run_command(p, p->line);
        }
        p->len = 0;
        p->overflow = 0;
        return;
    }
    if (c == '\r' || c == '\n') return;
    if (p->len + 1 >= TRIT_CMD_MAX) {
        p->overflow = 1; /* keep discarding until the next '%' */
        return;
    }
    p->line[p->len++] = c;
}
