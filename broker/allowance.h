/*  allowance — what a contract costs, month by month.
 *
 *  The programme pays ALLOWANCE euros a month (500) for the months a
 *  contract is active, prorated by days in its first and last month: a
 *  month's due is allowance x (days active that month / days in that
 *  month), rounded to the cent.  A contract's commitment is the sum of its
 *  months' dues, so the payment schedule and the budget view always add up
 *  to the same figure.  Dates are inclusive: a contract from 2026-01-15 to
 *  2027-01-14 lasts exactly 12 months and costs 12 x 500 EUR.
 *
 *  All amounts are in cents.  Pure functions.
 */
#ifndef RELAIS_ALLOWANCE_H
#define RELAIS_ALLOWANCE_H

#include "date.h"

#include <stdbool.h>
#include <stdint.h>

/* The latest allowed end of a contract starting on START that may last
 * MAX_MONTHS: the day before START + MAX_MONTHS months. */
date_t allowance_max_end(date_t start, unsigned max_months);
/* Due in cents for month YEAR-MONTH for a contract active from START to
 * END inclusive (0 when the month is outside). */
int64_t allowance_month_due(date_t start, date_t end, int year, int month, uint32_t allowance_eur);
/* The sum of every month's due from START to END inclusive (0 if END is
 * before START). */
int64_t allowance_total(date_t start, date_t end, uint32_t allowance_eur);

#endif
