/*  payments — the month's allowance payments, for the payment service.
 *
 *  For month YEAR-MONTH, every contract (a case with contract_on set)
 *  active for at least one day of that month, and what it is due for that
 *  month: allowance_month_due (allowance.h), prorated by days in the
 *  contract's first and last month.  A contract runs from contract_on to
 *  contract_end: the planned last day, or, once the case is closed before
 *  it, the close date (cases.c rewrites contract_end on close).  Because
 *  a contract's commitment is the sum of the same monthly dues, the
 *  payments of all its months add up exactly to its commitment_cents, the
 *  figure the budget view (admin_budget) counts.
 *
 *  Personal data: none.  A line is the case id (the payment reference),
 *  the structure id, the contract's first and last day and the amount;
 *  the payment service matches the case id to the bank details it holds
 *  itself.
 *
 *  Formats: PAYMENTS_TEXT, a table for people and a totals line;
 *  PAYMENTS_CSV, header "case_id,structure_id,contract_start,contract_end,
 *  due_eur" then one row per contract, due as 1234.56, no totals row (a
 *  spreadsheet sums it); PAYMENTS_JSON, one document {"month", "contracts",
 *  "total_cents", "payments": [{case_id, structure_id, contract_start,
 *  contract_end, due_cents}]}.  Lines in case id order.
 *
 *  Like admin.h: opens the store read-only beside the broker, one read
 *  transaction, returns 0 or -1 with the reason in ERR.  Cost: one pass
 *  over the cases.  Not to be called by a process that has the store open.
 */
#ifndef RELAIS_PAYMENTS_H
#define RELAIS_PAYMENTS_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { PAYMENTS_TEXT = 0, PAYMENTS_CSV, PAYMENTS_JSON } payments_format_t;

typedef struct {
    size_t contracts;    /* contracts due something this month */
    int64_t total_cents; /* what they are due, in all */
} payments_total_t;

/* Parses "YYYY-MM" (month 01..12, year 1..9999).  0, or -1. */
int payments_parse_month(const char *s, int *year, int *month);

/* Prints the payments due for YEAR-MONTH from the store in STORE_DIR under
 * CFG's allowance on OUT (may be NULL: totals only) in FORMAT; the totals
 * in *TOTAL (may be NULL). */
int payments_month(const char *store_dir, const config_t *cfg, int year, int month, FILE *out,
                   payments_format_t format, payments_total_t *total, char *err, size_t errlen);

#endif
