/* Ops as text: "SET x 5" and results, as the history format and the report write them. */
#include "check/internal.h"

#include <inttypes.h>

static const char *const op_names[] = {
    [OP_GET] = "GET",   [OP_SET] = "SET",   [OP_INCR] = "INCR", [OP_APPEND] = "APPEND",
    [OP_DEL] = "DEL",   [OP_MSET] = "MSET", [OP_MGET] = "MGET",
};

const char *ck_op_name(enum op_type type) { return op_names[type]; }

bool ck_op_takes_args(enum op_type type)
{
    return type == OP_SET || type == OP_APPEND || type == OP_MSET;
}

void optext_call(struct buf *b, const struct op *op)
{
    buf_append_str(b, ck_op_name(op->type));
    for (uint32_t i = 0; i < op->nkeys; i++) {
        buf_append(b, " ", 1);
        quote_append(b, op->keys[i]);
        if (op->args) {
            buf_append(b, " ", 1);
            quote_append(b, op->args[i]);
        }
    }
}

void optext_result(struct buf *b, const struct op *op)
{
    switch (op->type) {
    case OP_GET:
    case OP_MGET:
        for (uint32_t i = 0; i < op->nkeys; i++) {
            if (i)
                buf_append(b, " ", 1);
            quote_append_value(b, op->values ? op->values[i] : NULL);
        }
        break;
    case OP_INCR:
    case OP_APPEND:
    case OP_DEL:
        ck_bprintf(b, "%" PRId64, op->integer);
        break;
    case OP_SET:
    case OP_MSET:
        break;
    }
}
