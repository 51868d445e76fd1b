/*  staff — the programme team's requests (StaffRequest), on the
 *  coordinator endpoint with a staff key (service.c checks the role).
 *
 *  The broker stays the only writer: what staff decide goes through here,
 *  in the request's write transaction, so the events the decision causes
 *  are emitted with it.  Ops:
 *    review_list      the cases held in REVIEW with their evidence
 *                     (review.h); staff see person data, so each case
 *                     returned is audited as a read, as FetchCases is
 *    review_decision  LINK / SEPARATE / UNLINK (review.h)
 *    erase            not implemented here yet (answers not_implemented)
 *  Every request leaves audit records (kind review_list, review_decision,
 *  erase) in the same transaction.
 */
#ifndef RELAIS_STAFF_H
#define RELAIS_STAFF_H

#include "audit.h"
#include "cases.h"
#include "relais.pb-c.h"
#include "review.h"
#include "store.h"

#include <stdbool.h>

/* The reply and what backs it; staff_reply_clear frees it. */
typedef struct {
    Relais__V1__StaffResult result;
    Relais__V1__Reason error;
    review_verdict_t verdict;
    bool erased; /* result filled by erasure_erase (its error is malloc'd) */
} staff_reply_t;

/* Handles REQ for the staff member AUDIT describes (its identity, key,
 * endpoint: the rest is filled here), at AT (unix seconds).  Fills OUT.
 * Returns 0 or a store error (the caller aborts the transaction). */
int staff_handle(cases_t *cases, store_txn_t *t, const audit_entry_t *audit, int64_t at,
                 const Relais__V1__StaffRequest *req, staff_reply_t *out);
void staff_reply_clear(staff_reply_t *out);

#endif
