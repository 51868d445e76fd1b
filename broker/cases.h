/*  cases — a young person's case: its states, its budget place, its queue
 *  and the events it sends.
 *
 *  Lifecycle (CaseState of PROTOCOL.md):
 *
 *    (new) --budget full--> WAITLISTED --place frees up--> ROUTED
 *    (new) --possible match--> REVIEW   (held for the programme team)
 *    (new) --> ROUTED --accept--> ACCEPTED --> DIAGNOSIS_DONE --> PLAN_AGREED
 *                |                    --> CONTRACT_SIGNED --close--> CLOSED
 *                +--decline--> ROUTED at the next structure that has not
 *                              declined it, else the programme team's
 *                              structure, else DECLINED (final)
 *    ACCEPTED and every milestone may be closed (with an Outcome).
 *
 *  Budget: routing a case reserves one place (allowance x max months, in
 *  euros, counter "budget:reserved_eur"); reservations never exceed the
 *  envelope.  A new case that does not fit is WAITLISTED (FIFO); a place
 *  freed by a close or a final decline routes the oldest waitlisted cases.
 *
 *  Every state change appends one StatusEvent per referral attached to the
 *  case to that referral's partner feed (feed.h): the closed loop.
 *
 *  An action that does not apply (unknown case, another structure's case,
 *  out of order, missing reason/outcome, bad date) is refused with a
 *  reason and changes nothing.
 *
 *  Ownership: a cases_t borrows its config and route (they outlive it).
 */
#ifndef RELAIS_CASES_H
#define RELAIS_CASES_H

#include "config.h"
#include "identity.h"
#include "reasons.h"
#include "relais.pb-c.h"
#include "route.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

#define CASES_ID_MAX 16

typedef struct cases_t cases_t;

/* Where a case stands after cases_open / cases_attach. */
typedef struct {
    Relais__V1__CaseState state;
    char case_id[CASES_ID_MAX];
    char structure_id[64]; /* "" when not routed (waitlisted, review) */
    uint64_t waitlist_position;
} cases_placement_t;

/* The answer to a coordinator's action. */
typedef struct {
    bool ok;
    Relais__V1__CaseState state; /* the case's state after the action */
    char code[REASON_CODE_MAX];   /* when !ok */
    char message[REASON_MESSAGE_MAX];
} cases_verdict_t;

cases_t *cases_new(const config_t *cfg, route_t *route, char *err, size_t errlen);
void cases_destroy(cases_t **self_p);

/* Opens a new case for known person PERSON_ID (record already stored) from
 * the referral (PARTNER, PARTNER_REF, R).  REVIEW non-NULL: a possible
 * match, the case is held in REVIEW.  Otherwise it is routed, or
 * waitlisted when the budget is full. */
int cases_open(cases_t *self, store_txn_t *t, uint64_t person_id, const char *partner,
               const char *partner_ref, const Relais__V1__Referral *r,
               const identity_result_t *review, cases_placement_t *out);
/* Attaches a further referral of the same person to open case CASE_ID:
 * its partner now gets the case's events, starting with its current
 * state. */
int cases_attach(cases_t *self, store_txn_t *t, const char *case_id, const char *partner,
                 const char *partner_ref, const Relais__V1__Referral *r,
                 cases_placement_t *out);
/* Programme staff decisions (review.h).  Each returns EINVAL, changing
 * nothing, when the case is not in the state the decision needs.
 * cases_release_review: a REVIEW case is a new person's: routed (or
 * waitlisted) as cases_open would have, its referrers told.
 * cases_close_linked: a REVIEW case whose referrals joined TO_CASE_ID:
 * DECLINED (final, no place, no referrer, review_reason "linked to
 * TO_CASE_ID"); its person loses the open case.
 * cases_detach: referral (PARTNER, PARTNER_REF), not the case's first,
 * leaves open or closed CASE_ID; its partner gets a DECLINED event on
 * CASE_ID ("rattachement annulé"); the other referrers hear nothing.
 * MDB_NOTFOUND when the referral is not attached to the case. */
int cases_release_review(cases_t *self, store_txn_t *t, const char *case_id,
                         cases_placement_t *out);
int cases_close_linked(cases_t *self, store_txn_t *t, const char *case_id,
                       const char *to_case_id);
int cases_detach(cases_t *self, store_txn_t *t, const char *case_id, const char *partner,
                 const char *partner_ref);
/* A coordinator of STRUCTURE_ID acts on a case. */
int cases_act(cases_t *self, store_txn_t *t, const char *structure_id,
              const Relais__V1__CaseAction *a, cases_verdict_t *out);
/* STRUCTURE_ID's cases awaiting an answer (ROUTED), oldest first, then
 * with INCLUDE_OPEN its accepted open ones; at most MAX (0: 100).  OUT is
 * zero-initialised by the callee, freed with cases_clear. */
int cases_fetch(cases_t *self, store_txn_t *t, const char *structure_id, uint32_t max,
                bool include_open, Relais__V1__Cases *out);
void cases_clear(Relais__V1__Cases *out);

/* Nobody waits in silence: every ROUTED case unanswered for reminder_days
 * gets one reminder (an event to its referrers, a log line for the
 * structure and the programme team); unanswered for reroute_days it is
 * declined on the structure's behalf with reason "no_answer" and re-routed
 * (never to a structure that declined it).  Days are calendar days (UTC)
 * from the routing day: routed on the 20th, reminded from the 30th on,
 * whatever the hour.  NOW is unix seconds.  Counts
 * what it did in *REMINDED and *REROUTED.  Cost: O(open cases). */
int cases_escalate(cases_t *self, store_txn_t *t, int64_t now, size_t *reminded,
                   size_t *rerouted);

/* Ends CASE_ID for an erasure on request (GDPR art. 17): an open case is
 * closed today with outcome OTHER (its contract ends today, its place is
 * freed), a waitlisted or held one leaves the waitlist / review as
 * DECLINED; the referrers are told; freed budget routes the waitlist.
 * A case already closed or declined is left as it is. */
int cases_end_for_erasure(cases_t *self, store_txn_t *t, const char *case_id);

#endif
