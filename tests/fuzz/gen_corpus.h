/* The seed writers of fuzz_gen_corpus (gen_corpus.c is its main), one file per kind of input. */
#ifndef CATENA_TESTS_FUZZ_GEN_CORPUS_H
#define CATENA_TESTS_FUZZ_GEN_CORPUS_H

#include "common/buf.h"

/* Prints what failed and exits 1. */
void gen_die(const char *what);
/* Writes b to dir/name (and says so on stdout). */
void gen_write(const char *dir, const char *name, const struct buf *b);

/* Client requests for fuzz_resp (gen_corpus_net.c). */
void gen_requests(const char *dir);
/* Peer connections for fuzz_peer_frames (gen_corpus_net.c). */
void gen_peer_frames(const char *dir);
/* Cluster programs for fuzz_chainpaxos (gen_corpus_engine.c). */
void gen_chainpaxos(const char *dir);

#endif
