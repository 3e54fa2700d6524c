/* ACCEPT at any replica, the leader's own proposals included (docs/protocols/chainpaxos.md
 * §5.3).
 *
 * "settled": the doc's gap rule (step 5) only refuses i > highest_accepted + 1. After a ballot
 * change that is not enough: a replica may hold instance j from an old ballot, miss the new
 * leader's ACCEPT for j (a broken link), and then take the new ballot's j + 1. The tail's ack
 * for j + 1 would then make it decide its stale value for j. So an ACCEPT(b, i) is also a gap
 * unless every instance below i is <= ack (chosen, held by everyone) or was accepted with b:
 * i - 1 <= settled. With a single ballot the two rules agree. */
#include "common/check.h"
#include "protocols/chainpaxos/internal.h"

enum chain_verdict {
    CHAIN_FRESH,     /* store it */
    CHAIN_DUPLICATE, /* already accepted with this ballot, or already collected */
    CHAIN_GAP,       /* an earlier instance is missing: wait for the retransmission */
    CHAIN_HELD,      /* below the log: executed here, part of the state (join.c): pass it on */
};

/* Stale ballots are dropped, higher ones adopted. False if the ACCEPT must be dropped.
 * A ballot of this replica's own comes only from its own proposals: only this replica creates
 * such ballots, and its ACCEPTs travel away from it (the tail answers with ACCEPT_ACK). One
 * arriving from a peer is corrupt, and taking it would let a peer fill the leader's next slot
 * or make a follower "follow" itself. */
static bool chain_accept_ballot(struct chain_engine *c, node_id from, struct ballot b)
{
    if (b.round == 0 || b.round >= CHAIN_MAX_ROUND || chain_member_index(c, b.node) < 0)
        return false;
    if ((b.node == c->self) != (from == c->self))
        return false;
    int cmp = ballot_cmp(b, c->promised);
    if (cmp < 0) {
        /* A deposed leader's chain: tell the sender the ballot that replaced it. It steps down
         * and tells its own predecessor, back to the old leader (membership §3). */
        struct chain_reject r = {.refused = b, .promised = c->promised};
        chain_send_reject(c, from, &r);
        return false;
    }
    if (cmp > 0)
        chain_adopt_ballot(c, b);
    return true;
}

static enum chain_verdict chain_accept_classify(const struct chain_engine *c,
                                                const struct chain_accept *m)
{
    instance_no i = m->instance;
    /* Collected (executed by the whole chain), or received with a state transfer. A new
     * leader re-proposes from its ack on, which may lie below a joined replica's state: the
     * chosen value is the only one a correct leader re-proposes, so the replica, which holds
     * its effect, passes it on like an acceptor, or the chain would stop here. */
    if (i < c->log.base)
        return i <= c->installed_at ? CHAIN_HELD : CHAIN_DUPLICATE;
    const struct chain_entry *e = chain_log_get(&c->log, i);
    if (e && ballot_eq(e->ballot, m->ballot))
        return CHAIN_DUPLICATE;
    if (i > c->highest_accepted + 1 || i - 1 > c->settled)
        return (c->planted_bugs & ENGINE_BUG_ACCEPT_GAPS) ? CHAIN_FRESH : CHAIN_GAP;
    return CHAIN_FRESH;
}

/* Extends `settled` over instances already accepted with the current ballot. */
static void chain_extend_settled(struct chain_engine *c)
{
    while (c->settled < c->highest_accepted) {
        const struct chain_entry *e = chain_log_get(&c->log, c->settled + 1);
        if (!e || !ballot_eq(e->ballot, c->promised))
            break;
        c->settled++;
    }
}

/* Planted bug (ENGINE_BUG_ACCEPT_GAPS): a hole before an ACCEPT is filled with NOOPs, as a
 * careless implementation would, losing whatever the missing instances held. */
static void chain_accept_fill_hole(struct chain_engine *c, const struct chain_accept *m)
{
    while (c->highest_accepted + 1 < m->instance) {
        struct chain_entry *e = chain_log_put(&c->log, ++c->highest_accepted);
        e->ballot = m->ballot;
        e->counter = (uint16_t)(m->counter + 1);
        e->kind = CHAIN_VALUE_NOOP;
        e->whole_ack = 0;
        buf_clear(&e->body);
        chain_persist_accept(c, c->highest_accepted, e);
    }
}

static void chain_accept_store(struct chain_engine *c, const struct chain_accept *m,
                               struct buf *steal)
{
    if (c->planted_bugs & ENGINE_BUG_ACCEPT_GAPS)
        chain_accept_fill_hole(c, m);
    /* An overwritten instance keeps its decided flag: a higher ballot re-proposes the value
     * that was chosen, and an instance is executed only once. */
    struct chain_entry *e = chain_log_put(&c->log, m->instance);
    e->ballot = m->ballot;
    e->counter = (uint16_t)(m->counter + 1);
    e->kind = m->value.kind;
    e->whole_ack = m->whole_ack;
    if (steal) {
        CHECK(steal->data == m->value.body && steal->len == m->value.len);
        buf_swap(&e->body, steal);
        buf_clear(steal);
    } else {
        buf_clear(&e->body);
        buf_append(&e->body, m->value.body, m->value.len);
    }
    chain_persist_accept(c, m->instance, e);
    if (m->value.kind == CHAIN_VALUE_MEMBERSHIP && !e->decided) {
        c->pending_change = m->instance;
        chain_skip_bypassed(c);
    } else if (c->pending_change == m->instance)
        c->pending_change = 0; /* overwritten: that change was not chosen, the bypass ends */
    if (m->instance > c->ballot_accepted)
        c->ballot_accepted = m->instance;
    if (m->instance > c->highest_accepted) {
        /* Nothing was outstanding: the retransmission timer starts now, not at the last ack. */
        if (c->highest_accepted <= c->ack)
            c->ack_progress_ms = c->now_ms;
        c->highest_accepted = m->instance;
    }
    chain_extend_settled(c);
}

/* The tail acknowledges to the leader with the ack that came with the ACCEPT (what the whole
 * chain has processed). */
static void chain_ack_as_tail(struct chain_engine *c, const struct chain_accept *m)
{
    struct chain_accept_ack a = {.ballot = m->ballot, .instance = m->instance, .ack = m->ack};
    chain_send_accept_ack(c, c->leader, &a);
}

static void chain_pass_on_held(struct chain_engine *c, const struct chain_accept *m)
{
    if (chain_is_tail(c)) {
        /* Not in the log: only the counter it came with tells whether every replica before
         * this one has it. A predecessor that skipped a suspect may have sent this replica
         * its state, and the suspect may lack the instance (simulator, crashes profile, seed
         * 619228: that false ack let every replica collect what the suspect still needed). */
        if (chain_counter_complete(c, (size_t)m->counter + 1))
            chain_ack_as_tail(c, m);
        return;
    }
    struct chain_accept next = *m;
    next.counter = (uint16_t)(m->counter + 1);
    /* Above the fence the ack travels as it came: this replica's own ordered ack was learned
     * after the instance was proposed, and would release reads early down the chain (a read
     * would miss a write the instance's successors already completed). */
    next.ack = chain_carried_ack(c, m->instance, m->ack);
    next.decided = chain_carried_decided(c);
    next.gc = c->gc;
    chain_send_accept(c, chain_next_hop(c), &next);
}

static void chain_pass_on(struct chain_engine *c, const struct chain_accept *m, node_id next_before)
{
    if (chain_is_tail(c)) {
        chain_ack_as_tail(c, m);
    } else if (chain_next_hop(c) != next_before) {
        /* This ACCEPT started a bypass (or ended one): the new next hop may lack everything
         * the old one swallowed. */
        chain_resend_outstanding(c);
    } else {
        chain_send_entry(c, next_before, m->instance);
    }
}

bool chain_recv_accept(struct chain_engine *c, node_id from, const struct chain_accept *m,
                       struct buf *steal)
{
    if (!chain_accept_ballot(c, from, m->ballot)) {
        chain_dropped(c);
        return false;
    }
    /* A counter counts the replicas that accepted on the way here: fewer than N. An instance
     * resent after the chain's order changed (a MOVE, a bypass that ended) carries the count
     * of its old path, which may include this replica: that many did accept, so the count is
     * kept, but never beyond N - 1 others. */
    struct chain_accept capped;
    if (m->counter >= c->n) {
        capped = *m;
        capped.counter = (uint16_t)(c->n - 1);
        m = &capped;
    }
    c->fence = m->fence; /* one value per ballot */
    if (chain_note_leader_durable(c, m->ballot, m->durable))
        chain_ack_leader_durable(c); /* the tail: what it held back for the leader's disk */
    instance_no ack_before = c->ack;
    node_id next_before = chain_next_hop(c);
    /* ack, gc and decided are facts, true whatever happens to this instance: learn them first,
     * even from a gap or a duplicate (the gap rule needs the new ack, see above). What they
     * decide executes before this instance is stored: a membership change decided at m must
     * be executed here before anything after m is accepted (the stop rule). */
    chain_learn(c, m->ack, m->gc);
    bool news = c->ack > ack_before || m->decided > c->decided;
    if (m->decided > c->decided)
        c->decided = m->decided;
    if (news)
        chain_decide(c); /* nothing else can have become decidable since the last message */
    if (c->removed) {
        chain_collect(c); /* executed its own removal */
        return false;
    }
    enum chain_verdict verdict = chain_accept_classify(c, m);
    /* Progress proves a working leader; repeats do not (replicas resend old instances to each
     * other for as long as the chain is stuck, whether or not its leader is alive). */
    if (from != c->self && (verdict == CHAIN_FRESH || c->ack > ack_before))
        c->leader_heard_ms = c->now_ms;
    if (verdict == CHAIN_FRESH) {
        chain_accept_store(c, m, steal);
        /* Taken in order: everything the leader proposed before it learned m->ack is here
         * (not so for a re-proposal: older proposals may sit at later instances). */
        if (m->instance > c->fence)
            chain_learn_ordered(c, m->ack);
        chain_log_get(&c->log, m->instance)->ack_out = c->read_ack;
        chain_reads_stamp(c, m->instance, m->whole_ack);
        /* The quorum point: the leader learns the decision from here, not from the tail. */
        if (from != c->self && (size_t)m->counter + 1 == c->quorum)
            c->quorum_ack_due = true;
    }
    /* The same instance again along a longer path (a predecessor skips a suspect but still
     * sends it copies, which it passes on): more replicas accepted it than counted here. */
    bool recounted = false;
    if (verdict == CHAIN_DUPLICATE && from != c->self) {
        struct chain_entry *e = chain_log_get(&c->log, m->instance);
        if (e && ballot_eq(e->ballot, m->ballot) && (size_t)m->counter + 1 > e->counter) {
            if (e->counter < c->quorum && (size_t)m->counter + 1 >= c->quorum)
                c->quorum_ack_due = true;
            e->counter = (uint16_t)(m->counter + 1);
            recounted = true;
        }
    }
    chain_decide(c);
    if (c->removed || c->leader == NODE_NONE) {
        /* Executed its own removal, or the leader's: nobody to pass anything on to. */
        chain_collect(c);
        return verdict == CHAIN_FRESH;
    }
    /* A repeated or early ACCEPT is the predecessor retransmitting: tell it this replica is
     * alive, so it looks further down the chain for the fault (monitor.c). */
    if (verdict != CHAIN_FRESH && verdict != CHAIN_HELD && from != c->self &&
        c->now_ms >= c->alive_next_ms) {
        c->alive_next_ms = c->now_ms + c->retransmit_ms / 4;
        chain_send_alive(c, from);
    }
    if (verdict == CHAIN_FRESH || recounted)
        chain_pass_on(c, m, next_before);
    else if (verdict == CHAIN_HELD && from != c->self)
        chain_pass_on_held(c, m);
    else if (verdict == CHAIN_DUPLICATE && chain_is_tail(c))
        chain_pass_on(c, m, next_before); /* the previous ACCEPT_ACK may have been lost */
    else
        chain_dropped(c);
    chain_collect(c);
    return verdict == CHAIN_FRESH;
}
