/* A client command as it travels inside the cluster and sits in the log.
 *
 * Encoding (little-endian), one record:
 *   u32 origin   replica the client is connected to (it sends the reply)
 *   u64 client   that replica's connection id
 *   u64 seq      per-connection sequence number (exactly-once deduplication key with the above)
 *   u64 submitted the instance the origin had executed when it last submitted the command
 *                (the engine stamps it: see COMMAND_WINDOW)
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
#define COMMAND_HEADER_BYTES 32
#define COMMAND_SUBMITTED_AT 20 /* offset of `submitted` in a record */

/* A command decided at an instance more than COMMAND_WINDOW after its `submitted` is skipped
 * on every replica, like a gap, and its origin submits it again (stamped anew). So no copy of
 * a command can execute more than COMMAND_WINDOW instances after its origin last handed it
 * over, and the session table can forget a connection that many instances after its END
 * (kv/sessions.h): a late copy then finds no session, but is too old to execute. */
#define COMMAND_WINDOW ((uint64_t)1 << 20)

struct command_header {
    node_id origin;
    uint64_t client;
    uint64_t seq;
    uint64_t submitted;
    uint32_t argc;
};

/* True if a command with this header, decided at `instance`, is too old to execute. */
static inline bool command_stale(const struct command_header *h, uint64_t instance)
{
    return instance > h->submitted && instance - h->submitted > COMMAND_WINDOW;
}

/* Session control records, which replicas make and clients cannot (the server refuses
 * unknown command names, and these begin with a NUL byte). Each goes through the log like a
 * command of its origin:
 *   END      argv {COMMAND_END}: the last record of a closed connection (its seq follows the
 *            connection's last); its session ends.
 *   END_ALL  argv {COMMAND_END_ALL, u64 bound}, client 0, seq 0: a replica (re)started, and
 *            every session of its earlier runs (client ids below bound) ends. */
#define COMMAND_END "\0END"
#define COMMAND_END_LEN 4
#define COMMAND_END_ALL "\0END_ALL"
#define COMMAND_END_ALL_LEN 8

/* Writes `submitted` into the encoded record at offset record_at of b. */
void command_stamp(struct buf *b, size_t record_at, uint64_t submitted);

/* Appends an END of (origin, client) with sequence number seq, or an END_ALL of origin's
 * sessions below bound (the engine stamps `submitted`). */
void command_encode_end(struct buf *out, node_id origin, uint64_t client, uint64_t seq);
void command_encode_end_all(struct buf *out, node_id origin, uint64_t bound);

enum command_kind { COMMAND_KIND_CLIENT, COMMAND_KIND_END, COMMAND_KIND_END_ALL };
/* What a decoded record is; for an END_ALL, *bound is set. */
enum command_kind command_kind_of(const struct command_header *h, const uint8_t *const *argv,
                                  const size_t *lens, uint64_t *bound);

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
