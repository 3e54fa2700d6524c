/* How fuzz_chainpaxos reads its input (gen_corpus_engine.c writes seeds the same way).
 *
 *   u8 setup   bit 0: 5 replicas (else 3); bit 1: durable engines; bits 2-4: rounds of client
 *              commands decided before the program starts
 *   u8 seed    the harness's delivery order
 *   then steps, each: u8 op, u8 a, u8 b (replica indexes, modulo the cluster size), operands:
 *     op % 10 = FUZZ_CP_DELIVER(_TOO)  u8 n: deliver up to n % 64 + 1 messages
 *               FUZZ_CP_TICK           advance the clock one tick at every replica
 *               FUZZ_CP_SUBMIT         replica a's client b % 4 sends its next command
 *               FUZZ_CP_DROP           the oldest message from a to b is lost
 *               FUZZ_CP_CUT            everything in flight from a to b is lost
 *               FUZZ_CP_REPLAY         u8 i: sent message i % remembered is sent again
 *               FUZZ_CP_MUTATE         u8 i, u8 edits, edits % 4 + 1 times (u16 at, u8 byte),
 *                                      u8 cut (odd: then u8 how much): sent message i with
 *                                      those bytes overwritten, from its sender to its receiver
 *               FUZZ_CP_RAW(_TOO)      u8 to, u8 sender, u16 len, len bytes: a message to
 *                                      replica `to` from the id `sender` picks (see
 *                                      fuzz_chainpaxos.c pick_sender)
 *               FUZZ_CP_RESTART        durable engines only: replica a crashes (what is in
 *                                      flight to and from it is lost) and restarts from its
 *                                      records
 * Missing bytes read as 0. */
#ifndef CATENA_TESTS_FUZZ_CHAINPAXOS_INPUT_H
#define CATENA_TESTS_FUZZ_CHAINPAXOS_INPUT_H

enum fuzz_cp_op {
    FUZZ_CP_DELIVER = 0,
    FUZZ_CP_DELIVER_TOO = 1,
    FUZZ_CP_TICK = 2,
    FUZZ_CP_SUBMIT = 3,
    FUZZ_CP_DROP = 4,
    FUZZ_CP_CUT = 5,
    FUZZ_CP_REPLAY = 6,
    FUZZ_CP_MUTATE = 7,
    FUZZ_CP_RAW = 8,
    FUZZ_CP_RAW_TOO = 9,
    FUZZ_CP_RESTART = 10,
    FUZZ_CP_OPS = 11,
};

#define FUZZ_CP_SETUP_FIVE 1
#define FUZZ_CP_SETUP_DURABLE 2
#define FUZZ_CP_SETUP_ROUNDS(r) ((r) << 2)
/* The sender byte that names replica index `from` when the message goes to index `to` of n. */
#define FUZZ_CP_SENDER_MEMBER(from, to, n) (4 + 8 * (((from) + (n) - (to) - 1) % (n)))
#define FUZZ_CP_SENDER_ZERO 0        /* id 0 */
#define FUZZ_CP_SENDER_SELF 1        /* the receiver's own id */
#define FUZZ_CP_SENDER_NEWCOMER 2    /* id n + 1: not a member, may ask to join */
#define FUZZ_CP_SENDER_INVALID 3     /* an id above CATENA_MAX_NODES */

#endif
