/*  audit — the append-only record of who did what, and its readers.
 *
 *  Every request the broker answers leaves one AuditRecord
 *  (relais_store.proto) in the "audit" database, written in the SAME
 *  transaction as the request's own changes: an audited action and its
 *  record are committed together or not at all.  A request refused before
 *  it touched anything is recorded too (outcome "refused", code why).  A
 *  coordinator's FetchCases leaves one record per case whose person data it
 *  returned: reading a young person's record is an access, and the young
 *  person may ask who made it (GDPR art. 15).
 *
 *  Keys are a sequence number, 8 bytes big-endian, written with
 *  MDB_APPEND: records are only ever added at the end, never changed or
 *  removed by the broker.  Records hold ids and codes only (identity
 *  "ROLE:ID", key fingerprint, case id, partner_ref): no personal data,
 *  so the log may outlive the data it talks about.
 *
 *  The readers (relais-admin audit, access-report) open the store
 *  read-only beside the running broker, like admin.h, in one read
 *  transaction.  Cost: both read the whole log once (O(records)).
 *
 *  Errors: audit_append returns 0 or an LMDB error (the request then
 *  fails as a whole).  The readers return 0, or -1 with ERR.
 */
#ifndef RELAIS_AUDIT_H
#define RELAIS_AUDIT_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One record; every string may be NULL (stored as ""). */
typedef struct {
    const char *identity;  /* "ROLE:ID", or "unauthenticated:SENDER" */
    const char *key;       /* key fingerprint */
    const char *endpoint;  /* "partner" / "coordinator" */
    const char *kind;      /* referral fetch_events fetch_cases case_action unreadable */
    const char *case_id;
    const char *partner_ref;
    const char *outcome;   /* "done" / "refused" */
    const char *code;      /* refused: why; done: the result */
    const char *structure_id;
    const char *reason;    /* erase: why (erasure.h) */
} audit_entry_t;

/* Appends E, dated AT (unix seconds), in T. */
int audit_append(store_txn_t *t, int64_t at, const audit_entry_t *e);

/* relais-admin audit: the records of STORE_DIR, oldest first, those about
 * CASE_ID only (NULL: all), from SINCE (YYYY-MM-DD, NULL: the start).
 * *COUNT (may be NULL): how many were printed. */
int audit_print(const char *store_dir, FILE *out, bool json, const char *case_id,
                const char *since, size_t *count, char *err, size_t errlen);

/* relais-admin access-report --person CASE_ID: every record about any
 * case of the young person whose case CASE_ID is (the person record's
 * case ids): who saw or changed their record, and when. */
int audit_access_report(const char *store_dir, FILE *out, bool json, const char *case_id,
                        size_t *count, char *err, size_t errlen);

#endif
