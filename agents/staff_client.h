/*  staff_client — the programme team's requests to the broker.
 *
 *  relais-admin's commands that CHANGE state (review decisions) are not
 *  done on the store: they go to the broker as StaffRequests with a staff
 *  key, so the broker stays the only writer and sends the events they
 *  cause.  This module sends them and prints the answers (text or JSON
 *  lines); staff_explain reads a case's match decisions from a store
 *  (read-only) to say why referrals were, or were not, taken for the same
 *  person.
 *
 *  Returns a process exit status: 0 done, 2 broker unreachable, 3 refused
 *  (the reason is printed), 1 other failure.
 */
#ifndef RELAIS_STAFF_CLIENT_H
#define RELAIS_STAFF_CLIENT_H

#include "relais_client.h"

#include <stdbool.h>
#include <stdio.h>

int staff_review_list(relais_client_t *c, FILE *out, bool json);
/* KIND: "link" (TO_CASE required), "separate", "unlink" (PARTNER and REF:
 * the referral to detach from CASE_ID). */
int staff_review_decide(relais_client_t *c, const char *kind, const char *case_id,
                        const char *to_case, const char *partner, const char *ref, FILE *out,
                        bool json);
/* Erases the personal data of CASE_ID's young person (GDPR art. 17), for
 * REASON (kept in the audit log). */
int staff_erase(relais_client_t *c, const char *case_id, const char *reason, FILE *out,
                bool json);
/* For each referral of CASE_ID, its match decision and the per-field
 * evidence, from the store in DATA_DIR (opened read-only). */
int staff_explain(const char *data_dir, const char *case_id, FILE *out, bool json);

#endif
