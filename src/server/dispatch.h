/* Routing one parsed client request: unknown and wrong-arity commands are answered with Redis'
 * errors, local commands at once, data commands through the protocol engine. */
#ifndef CATENA_SERVER_DISPATCH_H
#define CATENA_SERVER_DISPATCH_H

#include "resp/commands.h"
#include "server/session.h"

#include <stddef.h>
#include <stdint.h>

void dispatch_request(struct session *se, uint32_t argc, const uint8_t **argv, size_t *lens);

/* The connection closed: its session ends through the log (END, core/command.h). */
void dispatch_session_end(struct session *se);
/* This replica (re)started: the sessions of its earlier runs end (END_ALL). */
void dispatch_end_all(struct server *s);

/* Commands answered by this replica without the log (local_commands.c). */
void local_command_execute(struct session *se, const struct command_spec *spec, uint32_t argc,
                           const uint8_t *const *argv, const size_t *lens);

#endif
