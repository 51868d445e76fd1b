/*  referral — one partner referral, from decoded message to Ack.
 *
 *  The referral path, in order, all inside the caller's transaction:
 *    1. idempotency  (partner, partner_ref) seen before -> the first Ack
 *                    again, replay = true, nothing changed
 *    2. validate     (validate.h)     -> ACK_INVALID + one reason per problem
 *    3. consent      no consent       -> ACK_INELIGIBLE, before any matching:
 *                                        nothing about the person is looked
 *                                        at or kept
 *    4. match        (identity.h)     -> known person with an open case:
 *                                        ACK_MERGED into that case
 *    5. decide       (eligibility.h)  -> ACK_INELIGIBLE + every failing rule
 *    6. open a case  (cases.h)        -> ACK_ACCEPTED (routed), ACK_WAITLISTED
 *                                        (budget full), ACK_REVIEW (possible
 *                                        match held for the programme team)
 *    7. record       the Ack under (partner, partner_ref), for step 1.
 *  Invalid and ineligible referrals keep nothing but that idempotency
 *  record (the answer and its reasons): no personal data.
 *
 *  Ownership: referral_handle fills a referral_answer_t whose Ack points
 *  into the answer itself; release it with referral_answer_clear.
 */
#ifndef RELAIS_REFERRAL_H
#define RELAIS_REFERRAL_H

#include "cases.h"
#include "config.h"
#include "reasons.h"
#include "relais.pb-c.h"
#include "relais_store.pb-c.h"
#include "store.h"

typedef struct {
    Relais__V1__Ack ack; /* the answer to send */
    /* storage the Ack points into */
    reasons_t reasons;
    Relais__V1__Reason reason_msgs[REASONS_MAX];
    Relais__V1__Reason *reason_ptrs[REASONS_MAX];
    cases_placement_t placement;
    Relais__Store__ReferralRecord *replayed; /* step 1: the record read back */
} referral_answer_t;

/* Handles referral R from PARTNER (a configured partner id).  Returns 0
 * (the answer is in OUT, whatever its status) or a store error (the caller
 * aborts the transaction and answers "unavailable"). */
int referral_handle(const config_t *cfg, cases_t *cases, store_txn_t *t, const char *partner,
                    const Relais__V1__Referral *r, referral_answer_t *out);
void referral_answer_clear(referral_answer_t *out);

#endif
