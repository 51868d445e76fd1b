/*  review — the programme team's identity decisions: the possible matches
 *  held in review, and what a human decides about them.
 *
 *  A referral that may be a known young person (identity.h, POSSIBLE)
 *  opens a case held in REVIEW for a person that is not indexed.  Staff
 *  (staff.h) list those cases with the evidence, then decide:
 *    LINK      the same person as TO_CASE_ID's: the held referrals join
 *              that case as a merge would (cases_attach: their referrers
 *              get its events), the review case is closed out (DECLINED,
 *              "linked to C…", no place, no referrer), the referral record
 *              now keeps its own person data (for an UNLINK).
 *    SEPARATE  a different person: indexed, the case routed (or waitlisted)
 *              as a new one, its referrers told.
 *    UNLINK    a merged referral (PARTNER, PARTNER_REF) was not this case's
 *              person: it leaves the case (its partner gets a DECLINED
 *              event "rattachement annulé" on it), becomes a new person
 *              from the data its referral record kept, and a new case routed
 *              normally (ROUTED event).  The case's other referrers hear
 *              nothing.  Impossible for the case's first referral, and for
 *              a referral merged before the record kept person data.
 *  Every decision is remembered (identity_remember) so the same pair is
 *  not asked again.
 *
 *  Everything runs in the caller's write transaction.  Cost: review_list
 *  scans every case (O(cases)); the review queue is a few percent of
 *  referrals, but an index would be needed past ~100,000 cases.
 */
#ifndef RELAIS_REVIEW_H
#define RELAIS_REVIEW_H

#include "cases.h"
#include "reasons.h"
#include "relais.pb-c.h"
#include "store.h"

#include <stdbool.h>

#define REVIEW_LIST_DEFAULT 100
#define REVIEW_LIST_MAX     500

typedef struct {
    bool ok;
    char code[REASON_CODE_MAX]; /* !ok: not_found, not_in_review, not_open, ... */
    char message[REASON_MESSAGE_MAX];
    char case_id[CASES_ID_MAX]; /* the case the decision produced or changed */
    Relais__V1__CaseState state;
    char detail[64];
} review_verdict_t;

/* The cases held in REVIEW, oldest first, at most MAX (0: the default):
 * sets OUT's reviews (heap copies, freed by review_list_clear). */
int review_list(store_txn_t *t, uint32_t max, Relais__V1__StaffResult *out);
void review_list_clear(Relais__V1__StaffResult *out);

/* Applies decision D.  Returns 0 (OUT says whether it applied; when not,
 * nothing changed) or a store error. */
int review_decide(cases_t *cases, store_txn_t *t, const Relais__V1__ReviewDecision *d,
                  review_verdict_t *out);

#endif
