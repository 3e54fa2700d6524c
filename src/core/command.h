/* A client command as it travels inside the cluster and sits in the log.
 *
 * Encoding (little-endian), one record:
 *   u32 origin   replica the client is connected to (it sends the reply)
 *   u64 client   that replica's connection id
 *   u64 seq      per-connection sequence number (exactly-once deduplication key with the above)
 *   u32 argc     then argc times: u32 length, bytes
 * A batch is: u32 count, then count records. The engine treats both as opaque bytes; only
 * the server (encoding) and the state machine (decoding) look inside. */
#ifndef CATENA_CORE_COMMAND_H
#define CATENA_CORE_COMMAND_H

#include "common/buf.h"
#include "common/reader.h"
#include "core/types.h"

#include <stdbool.h>
#include <stddef.h>

/* Largest argc a command may have; the RESP layer enforces its own (configurable) limit. */
#define COMMAND_MAX_ARGS (1024 * 1024)

struct command_header {
    node_id origin;
    uint64_t client;
    uint64_t seq;
    uint32_t argc;
};

/* Appends one encoded command. argv[i] has lens[i] bytes. */
void command_encode(struct buf *out, const struct command_header *h, const uint8_t *const *argv,
                    const size_t *lens);

/* Decodes one command from r. Fills h and, for i < argc, argv[i]/lens[i] pointing into the
 * input (no copy). args must hold at least h->argc entries: call command_peek_argc first to
 * size it. Returns false on malformed input (nothing is trusted). */
bool command_decode(struct reader *r, struct command_header *h, const uint8_t **argv,
                    size_t *lens, uint32_t max_args);

/* Reads the header only, leaving r at the start of the record; false if malformed. */
bool command_peek(const struct reader *r, struct command_header *h);

/* Argument vector storage reused across decodes (grows as needed). */
struct command_args {
    const uint8_t **argv;
    size_t *lens;
    uint32_t cap;
};
void command_args_free(struct command_args *a);
/* Decodes the next command of a batch into a, growing it; false on malformed input. */
bool command_decode_next(struct reader *r, struct command_header *h, struct command_args *a);

#endif
