/*  report — the programme's evaluation report, computed from the store.
 *
 *  What the programme reports on after a year (DOMAIN.md "evaluation"),
 *  for the referrals received and the cases opened between FROM and TO
 *  (calendar days in Europe/Paris, inclusive; either may be open):
 *    referrals   by partner, partner kind (from the configuration), answer
 *                status and month
 *    persons     distinct young people with a case, referrals per person
 *                (the deduplication rate), referrals merged
 *    eligibility referrals checked against the rules (accepted, waitlisted,
 *                review, ineligible: merged ones join an existing case
 *                without a check, invalid ones cannot be checked), the
 *                rate, and each ineligibility reason (code, the broker's
 *                French message, referrals carrying it)
 *    routing     per structure: cases routed there, accepted, declined
 *                (no_answer re-routes included), awaiting an answer,
 *                acceptance rate; per quartier (the young person's quartier
 *                folded and mapped onto the structures' configured
 *                quartiers, else "other")
 *    delays      whole days, median and 90th percentile (nearest rank):
 *                referral -> first routing, last routing -> acceptance,
 *                referral -> acceptance (also as a histogram), acceptance
 *                -> contract, referral -> contract
 *    declines    hand-backs per structure, of which automatic no_answer
 *                re-routes, reminders sent, cases declined by every
 *                structure -- never the coordinators' free-text reasons
 *    waitlist    per month: cases entering, leaving (routed), waiting at
 *                the month's end; waiting now
 *    outcomes    closed cases by Outcome
 *    budget      admin_budget's figures as of today (whole programme, not
 *                filtered), and per month the reserved, committed and paid
 *                amounts at the month's end
 *  Months run from FROM's month (else the first referral or case) to TO's
 *  month (else today's), at most REPORT_MONTHS_MAX.
 *
 *  Where the figures come from: referral records (partner, received_at,
 *  the Ack's status and reasons), case records (dates, structures, state,
 *  outcome, contract), the first referral's partner feed for each case
 *  (the time of its first routing, its time on the waitlist, reminders and
 *  no_answer re-routes: the case record only keeps the last routing), and
 *  from the person record ONLY the quartier.  Never names, birth dates,
 *  contact details, INE or notes; free-text decline reasons are read only
 *  to test their "no_answer" code prefix, never counted by text.
 *
 *  report_compute builds one JSON document (the shape is documented at
 *  report.c's top and is what --format json prints); report_write renders
 *  it as text, CSV (long format: section,item,measure,value) or JSON;
 *  report_html.h renders HTML.  One computation, several renderings.
 *
 *  Like admin.h: read-only beside the broker, one read transaction for the
 *  store's records (the budget section is admin_budget's own, read just
 *  before); returns 0 or -1 with the reason in ERR.  Cost: one pass over
 *  referrals, cases and feeds, a lookup per case; O(n log n) sorting.
 */
#ifndef RELAIS_REPORT_H
#define RELAIS_REPORT_H

#include "config.h"
#include "date.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define REPORT_MONTHS_MAX 120

typedef enum { REPORT_TEXT = 0, REPORT_CSV, REPORT_JSON, REPORT_HTML } report_format_t;

/* The period; has_from / has_to false: open bound. */
typedef struct {
    bool has_from, has_to;
    date_t from, to;
} report_period_t;

/* "text" "csv" "json" "html" -> format; -1 otherwise. */
int report_format_parse(const char *word);

/* Computes the report of the store in STORE_DIR under CFG for PERIOD (NULL:
 * everything) into a new JSON document *OUT (the caller json_decref's). */
int report_compute(const char *store_dir, const config_t *cfg, const report_period_t *period,
                   json_t **out, char *err, size_t errlen);

/* Writes REPORT (from report_compute) on OUT in FORMAT (HTML: report_html). */
int report_write(const json_t *report, const config_t *cfg, report_format_t format, FILE *out,
                 char *err, size_t errlen);

#endif
