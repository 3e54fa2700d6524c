/* Membership changes as the server sees them: the peer address book (--cluster plus the
 * addresses learnt from EFFECT_MEMBERSHIP), the operator commands CATENA.ADD and CATENA.REMOVE,
 * and the clients waiting until their change takes effect.
 *
 * A change is submitted to the engine (ENGINE_EVENT_CHANGE) and its client is answered +OK when
 * this replica executes the matching EFFECT_MEMBERSHIP, or -TRYAGAIN after
 * MEMBERSHIP_WAIT_MS; the wait never blocks other clients. */
#ifndef CATENA_SERVER_MEMBERSHIP_H
#define CATENA_SERVER_MEMBERSHIP_H

#include "core/engine.h"
#include "resp/commands.h"
#include "server/config.h"

#include <stddef.h>
#include <stdint.h>

#define MEMBERSHIP_WAIT_MS 10000
#define MEMBERSHIP_MAX_WAITS 64 /* clients waiting for a change, all connections together */

struct server;
struct session;
struct membership_wait;

struct server_membership {
    struct peer_address known[CATENA_MAX_NODES + 1]; /* by id; port 0 while unknown */
    struct membership_wait *waits;
    size_t wait_count;
};

/* Fills the address book from --cluster. */
void membership_init(struct server *s);
void membership_release(struct server *s);
/* The peer address of replica id, or NULL when this replica has never learnt it. */
const struct peer_address *membership_address(const struct server *s, node_id id);
/* The engine's view of this replica: "member", "joining" or "removed". */
const char *membership_state(const struct engine_status *st);
/* Appends "1=host:port,2=host:port" for the chain in st ("?" for an unknown address). */
void membership_chain_addresses(const struct server *s, const struct engine_status *st,
                                struct buf *out);

/* CATENA.ADD host:port [id] and CATENA.REMOVE id: answers the client itself (now for an error,
 * later for the outcome). */
void membership_command(struct session *se, const struct command_spec *spec, uint32_t argc,
                        const uint8_t *const *argv, const size_t *lens);
/* EFFECT_MEMBERSHIP: learns the address, links the new member, answers waiting clients. */
void membership_on_effect(struct server *s, instance_no instance, node_id node,
                          const uint8_t *payload, size_t len);
/* End of a loop iteration: waits past their deadline get -TRYAGAIN. */
void membership_expire_waits(struct server *s);
/* A closing session's waits are dropped (nobody is left to answer). */
void membership_forget_session(struct server *s, struct session *se);

#endif
