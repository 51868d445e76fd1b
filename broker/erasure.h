/*  erasure — a young person's personal data erased: by retention, or on
 *  their request (GDPR art. 17).
 *
 *  Erasing person P, in the caller's transaction (all or nothing: a crash
 *  leaves P either untouched or fully erased):
 *    - the PersonRecord keeps its id and case ids, loses its sealed
 *      Person, and is dated (erased_at);
 *    - identity_forget: P's identity index entries and MatchProfile go,
 *      so a new referral of P matches nobody and opens a new case;
 *    - each referral of each of P's cases loses its sealed notes and
 *      referrer (and the clear ones of a store made before sealing);
 *    - each case is dated (CaseRecord.erased_at) and keeps what the
 *      programme's statistics need: states, dates, outcome, structure,
 *      declines, referring partners and their references, budget.
 *  The audit log (ids only) is never touched.
 *
 *  Retention (erasure_purge, from service_housekeeping): P is erased when
 *  every case of P is CLOSED or DECLINED, the last closed more than
 *  programme.retention_months ago.  Cost: one pass over the cases
 *  (O(cases)) per run, plus the erasures themselves; a purged case is
 *  skipped next time (erased_at), so the purge is idempotent.
 *
 *  On request (erasure_erase, the staff dispatcher's Erase op): any case
 *  of P names P.  A person with an OPEN case is refused ("case_open"):
 *  close or decline the case first (this module does not close cases, so
 *  the place and queue bookkeeping of cases.c stays in one place).  Every
 *  referrer of every case of P gets a neutral StatusEvent (the case's
 *  state, detail ERASURE_DETAIL, no personal data), and the erasure is
 *  audited (kind "erase", identity BY, the reason).
 *
 *  Errors: 0, or an LMDB / errno code (the caller aborts the transaction).
 */
#ifndef RELAIS_ERASURE_H
#define RELAIS_ERASURE_H

#include "config.h"
#include "relais.pb-c.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define ERASURE_DETAIL "données effacées à la demande de la personne"

/* Erases PERSON_ID's personal data as above, dated NOW.  0 also when it
 * was erased already. */
int erasure_erase_person(store_txn_t *t, uint64_t person_id, int64_t now);

/* The unix time N months before NOW (same day of month, clamped). */
int64_t erasure_cutoff(int64_t now, unsigned months);

/* Retention: erases every person whose cases all ended before
 * erasure_cutoff(NOW, cfg->retention_months); *ERASED (may be NULL): how
 * many persons. */
int erasure_purge(const config_t *cfg, store_txn_t *t, int64_t now, size_t *erased);

/* Staff's Erase op.  Fills OUT (zero-initialised by the caller with
 * relais__v1__staff_result__init): ok, case_id (points to CASE_ID), state,
 * detail; or !ok and error {code "not_found" | "case_open" | "bad_request"}.
 * Release OUT's allocations with erasure_result_clear.  Returns 0 (the
 * answer is in OUT, the transaction may be committed), or a store error. */
int erasure_erase(const config_t *cfg, store_txn_t *t, const char *case_id, const char *reason,
                  const char *by, Relais__V1__StaffResult *out);
void erasure_result_clear(Relais__V1__StaffResult *out);

#endif
