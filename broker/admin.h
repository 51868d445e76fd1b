/*  admin — the programme team's read-only look at a store: backup, verify,
 *  budget, case listing.  (The logic of relais-admin; tests call it.)
 *
 *  The broker is the only writer of its store.  Every function here opens
 *  the store directory READ-ONLY beside it (LMDB allows readers next to
 *  the live writer, never blocking it) and does all its reading in ONE
 *  read transaction, so what it reports is one consistent instant of the
 *  store, even while referrals keep arriving.  The store's map size is
 *  the one the broker recorded in it: no broker configuration is needed to
 *  read a store.
 *
 *  Personal data: none of the output names, dates of birth, contact
 *  details or notes.  Verify's problems name ids only (case, person
 *  number, partner, partner_ref, structure, seq) -- an identity index key
 *  is itself built from a name and a birth date, so it is never printed;
 *  the case listing is the programme's statistics view (ids, states,
 *  dates, partners, outcome).
 *
 *  Output: to OUT (or REPORT), plain text for people, or with JSON one
 *  JSON document (formats in admin.c and relais-admin --help).
 *
 *  Errors: each function returns 0, or -1 with the reason in ERR (the
 *  store cannot be opened, is not a relais store, a read failed, out of
 *  memory).  Problems verify FINDS are not errors: they are counted in
 *  *PROBLEMS and the function returns 0.
 *
 *  Cost: verify and budget read every record once, plus O(log n) lookups
 *  per record (verify: a few per case, one per feed event); cases reads
 *  every case.  A store of this programme (a few hundred cases, some
 *  thousands of events) takes well under a second.
 *
 *  Thread-safety: no shared state; each call opens and closes its own
 *  store handle.  Do not call them from a process that has the same store
 *  open already (LMDB: one environment per file per process).
 */
#ifndef RELAIS_ADMIN_H
#define RELAIS_ADMIN_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Copies the live store in STORE_DIR into DEST_DIR (which must not exist,
 * and is then created with mode 0700, or be an empty directory): a
 * consistent, compacted copy as of one instant (store_copy), which is
 * then opened and verified like admin_verify (with CFG's budget figures)
 * before it is reported good.  The copy and its verification are
 * reported on REPORT (may be NULL).  Returns 0 when the copy exists, with
 * the problems its verification found in *PROBLEMS (0: a good backup; a
 * copy of a store with problems has the same problems).  -1 when no copy
 * was made (nothing is left in DEST_DIR), or, rarer, when the copy could
 * not be opened to be verified (it is left there for inspection; ERR
 * says which). */
int admin_backup(const char *store_dir, const char *dest_dir, const config_t *cfg, FILE *report,
                 bool json, size_t *problems, char *err, size_t errlen);

/* Checks that the store's records agree with one another (the list of
 * checks is at the top of admin.c) and prints each problem found on one
 * line of REPORT, "problem: " + ids and what is wrong, then one summary
 * line.  CFG gives the price of a budget place (allowance x max months).
 * *PROBLEMS: how many were found. */
int admin_verify(const char *store_dir, const config_t *cfg, FILE *report, bool json,
                 size_t *problems, char *err, size_t errlen);

/* The budget.  A routed case reserves one place (allowance x max months)
 * until its contract is signed; the contract then commits exactly what it
 * pays (allowance.h, in cents), closed contracts included. */
typedef struct {
    uint64_t envelope_eur;     /* the programme's whole budget (CFG) */
    uint64_t place_eur;        /* one young person's allowance, at most */
    uint64_t reserved_places;  /* cases holding a place, no contract yet */
    uint64_t reserved_eur;
    uint64_t contracts;        /* cases with a signed contract (open or closed) */
    int64_t committed_cents;   /* what those contracts pay in all */
    int64_t paid_cents;        /* ...of which due up to today */
    uint64_t counter_eur;      /* the broker's budget:reserved_eur counter */
    uint64_t counter_committed_cents; /* its budget:committed_cents counter */
    int64_t free_cents;        /* envelope - reserved - committed */
    uint64_t free_places;      /* free / place, 0 when free <= 0 */
    uint64_t waitlist_len;     /* the broker's waitlist:len counter */
    uint64_t waitlist_entries; /* entries actually in the waitlist */
} admin_budget_t;

/* Computes the budget of the store in STORE_DIR under CFG's envelope and
 * allowance, prints it on OUT (OUT may be NULL: figures only) and
 * returns the figures in *FIGURES (may be NULL). */
int admin_budget(const char *store_dir, const config_t *cfg, FILE *out, bool json,
                 admin_budget_t *figures, char *err, size_t errlen);

/* Which cases admin_cases lists. */
typedef struct {
    int state;             /* a Relais__V1__CaseState; 0 (unspecified): any */
    const char *structure; /* a structure id; NULL or "": any */
} admin_case_filter_t;

/* Lists the cases matching FILTER (NULL: all), oldest first: case id,
 * state, structure, created and last-routed days, referring partners,
 * outcome.  No person data.  *COUNT (may be NULL): how many were listed. */
int admin_cases(const char *store_dir, FILE *out, bool json, const admin_case_filter_t *filter,
                size_t *count, char *err, size_t errlen);

#endif
