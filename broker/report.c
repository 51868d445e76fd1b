/*  report — the evaluation report: figures from the store, then renderings.
 *  See report.h for what is counted and from which records.
 *
 *  How: the budget first (admin_budget, its own read transaction), then in
 *  ONE read transaction:
 *    1. every case record, kept in an array in case id order (the key
 *       order), with what the report derives for it;
 *    2. per case, its person's quartier (the only person field read),
 *       folded (normalize_name) and mapped to a configured quartier;
 *    3. every feed event: only those of each case's FIRST referral count
 *       (every referral attached gets the same events; the first one gets
 *       them all), giving the first routing, the waitlist entry and exit,
 *       reminders and no_answer re-routes, in time order (a feed is in seq
 *       order);
 *    4. every referral record: partner, month, Ack status and reasons, and
 *       through its case the person (deduplication).
 *  Then the figures are put into one JSON document; text and CSV are
 *  generic renderings of that document, HTML is report_html.c.
 *
 *  The JSON document (counts are integers, rates and delays reals or null
 *  when there is nothing to divide; money in cents):
 *    {"period": {"from", "to"}, "generated_on", "months": ["YYYY-MM"...],
 *     "referrals": {"total", "by_status": {accepted, merged, ineligible,
 *        invalid, waitlisted, review}, "by_partner": [{partner, kind,
 *        count}], "by_kind": [{kind, count}], "by_month": [{month, total,
 *        by_kind: {kind: count}}]},
 *     "persons": {"persons", "referrals_with_case", "merged",
 *        "referrals_per_person"},
 *     "eligibility": {"checked", "eligible", "ineligible", "invalid",
 *        "rate", "reasons": [{code, message, count}]},
 *     "routing": {"cases", "by_structure": [{structure, kind, routed,
 *        accepted, declined, pending, acceptance_rate}], "by_quartier":
 *        [{quartier, cases, routed, accepted}]},
 *     "delays": {"referral_to_routing" | "routing_to_acceptance" |
 *        "referral_to_acceptance" | "acceptance_to_contract" |
 *        "referral_to_contract": {n, median_days, p90_days},
 *        "histogram": {"of": "referral_to_acceptance", "bins": [{label,
 *        min_days, max_days, count}]}},
 *     "declines": {"handbacks", "no_answer", "reminders",
 *        "declined_by_all", "by_structure": [{structure, count}]},
 *     "waitlist": {"waiting_now", "by_month": [{month, entered, left,
 *        waiting_at_end}]},
 *     "outcomes": {"closed", "by_outcome": [{outcome, count}]},
 *     "budget": {envelope_eur, place_eur, reserved_eur, reserved_places,
 *        contracts, committed_cents, paid_cents, free_cents, waitlist_len,
 *        "by_month": [{month, reserved_cents, committed_cents,
 *        paid_cents}]}}
 *
 *  Budget over time, per month end (today for the current month): paid =
 *  what the contracts were due up to then; committed = the commitments of
 *  contracts signed by then (a contract closed early counts its final,
 *  shortened commitment: the store keeps no earlier value); reserved = one
 *  place per case first routed by then with neither a contract nor an end
 *  (close or final decline) by then.
 */
#include "report.h"
#include "errbuf.h"

#include "admin.h"
#include "allowance.h"
#include "clock.h"
#include "normalize.h"
#include "persons.h"
#include "relais_store.pb-c.h"
#include "report_html.h"
#include "store.h"
#include "vocab.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef Relais__Store__CaseRecord case_rec_t;

/* The details cases.c writes on a reminder and on an automatic re-route
 * (StatusEvent.detail): the only feed texts the report looks at. */
#define REPORT_REMINDER_PREFIX  "relance"
#define REPORT_NO_ANSWER_PREFIX "no_answer"

#define REPORT_ID_MAX 128

/* ---- what the report keeps per case ------------------------------------ */

typedef struct {
    case_rec_t *rec;
    bool in_period; /* opened in the period */
    int quartier;   /* index in s_ctx_t.quartiers, -1: other / unknown */
    int64_t first_routed_at;
    int64_t waitlist_in, waitlist_out; /* 0: never / not yet */
    unsigned reminders, no_answers;
} s_case_t;

typedef struct {
    char *folded;
    const char *name; /* as configured */
    uint64_t cases, routed, accepted;
} s_quartier_t;

typedef struct {
    char code[64];
    char *message;
    uint64_t count;
} s_reason_t;

typedef struct {
    const config_t *cfg;
    const report_period_t *period;
    store_txn_t *t;
    int rc;
    /* cases */
    s_case_t *cases;
    size_t n_cases, cap_cases;
    s_quartier_t *quartiers;
    size_t n_quartiers;
    /* referrals */
    uint64_t referrals, by_status[VOCAB_ACK_STATUS_COUNT];
    uint64_t *by_partner;    /* per configured partner, + 1 unknown */
    uint64_t *by_month_kind; /* [month][kind] */
    size_t n_kinds;
    const char **kinds; /* distinct partner kinds, config order */
    uint64_t *persons;  /* person ids of referrals with a case */
    size_t n_persons, cap_persons;
    uint64_t with_case;
    s_reason_t *reasons;
    size_t n_reasons, cap_reasons;
    /* months */
    int first_month, n_months; /* month number: year * 12 + month - 1 */
} s_ctx_t;

int report_format_parse(const char *word)
{
    static const char *const names[] = {"text", "csv", "json", "html"};
    for (int i = 0; word && i < 4; i++)
        if (strcmp(word, names[i]) == 0)
            return i;
    return -1;
}

/* ---- days and months --------------------------------------------------- */

static int64_t s_day(int64_t secs)
{
    return date_to_days(date_from_unix(secs));
}

static int s_month_of_day(int64_t day)
{
    date_t d = date_from_days(day);
    return d.year * 12 + d.month - 1;
}

/* Month numbers come from real dates (years 1..9999): the name fits. */
static void s_month_name(int m, char out[8])
{
    unsigned u = (unsigned)m;
    snprintf(out, 8, "%04u-%02u", (u / 12) % 10000, u % 12 + 1);
}

/* The last day of month M, as a day number. */
static int64_t s_month_end(int m)
{
    date_t first = {m / 12, m % 12 + 1, 1};
    return date_to_days(date_add_months(first, 1)) - 1;
}

static bool s_day_in_period(const s_ctx_t *x, int64_t day)
{
    const report_period_t *p = x->period;
    return !p || ((!p->has_from || day >= date_to_days(p->from)) &&
                  (!p->has_to || day <= date_to_days(p->to)));
}

/* ---- small collections -------------------------------------------------- */

static int s_grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : 64;
    void *grown = realloc(*items, want * size);
    if (!grown)
        return ENOMEM;
    *items = grown;
    *cap = want;
    return 0;
}

static int s_case_cmp_id(const void *key, const void *item)
{
    return strcmp(key, ((const s_case_t *)item)->rec->case_id);
}

static s_case_t *s_find_case(s_ctx_t *x, const char *case_id)
{
    if (!x->n_cases)
        return NULL;
    return bsearch(case_id, x->cases, x->n_cases, sizeof *x->cases, s_case_cmp_id);
}

static int s_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int s_int_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t s_kind_index(const s_ctx_t *x, const char *partner)
{
    const config_partner_t *p = config_partner(x->cfg, partner);
    for (size_t k = 0; p && k < x->n_kinds; k++)
        if (strcmp(x->kinds[k], p->kind) == 0)
            return k;
    for (size_t k = 0; k < x->n_kinds; k++)
        if (strcmp(x->kinds[k], "other") == 0)
            return k; /* a partner no longer configured */
    return x->n_kinds - 1;
}

/* ---- 1. cases ------------------------------------------------------------ */

static int s_case_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    s_ctx_t *x = arg;
    case_rec_t *c = relais__store__case_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!c) {
        x->rc = MDB_CORRUPTED;
        return 1;
    }
    if ((x->rc = s_grow((void **)&x->cases, &x->cap_cases, x->n_cases, sizeof *x->cases)) != 0) {
        relais__store__case_record__free_unpacked(c, NULL);
        return 1;
    }
    s_case_t *sc = &x->cases[x->n_cases++];
    memset(sc, 0, sizeof *sc);
    sc->rec = c;
    sc->quartier = -1;
    sc->in_period = s_day_in_period(x, s_day(c->created_at));
    return 0;
}

/* ---- 2. quartiers --------------------------------------------------------- */

static int s_quartiers_init(s_ctx_t *x)
{
    size_t total = 0;
    for (size_t i = 0; i < x->cfg->n_structures; i++)
        total += x->cfg->structures[i].n_quartiers;
    x->quartiers = calloc(total + 1, sizeof *x->quartiers);
    if (!x->quartiers)
        return ENOMEM;
    for (size_t i = 0; i < x->cfg->n_structures; i++) {
        const config_structure_t *s = &x->cfg->structures[i];
        for (size_t q = 0; q < s->n_quartiers; q++) {
            char *folded = normalize_name(s->quartiers[q]);
            if (!folded)
                return ENOMEM;
            bool seen = false;
            for (size_t j = 0; j < x->n_quartiers && !seen; j++)
                seen = strcmp(x->quartiers[j].folded, folded) == 0;
            if (seen) {
                free(folded);
                continue;
            }
            x->quartiers[x->n_quartiers].folded = folded;
            x->quartiers[x->n_quartiers++].name = s->quartiers[q];
        }
    }
    return 0;
}

/* The quartier of case SC's person; nothing else of the person is used. */
static int s_case_quartier(s_ctx_t *x, s_case_t *sc)
{
    Relais__Store__PersonRecord *p = NULL;
    int rc = persons_get(x->t, sc->rec->person_id, &p);
    if (rc == MDB_NOTFOUND)
        return 0; /* erased, or a damaged store: "other" */
    if (rc != 0)
        return rc;
    if (p->person && *p->person->quartier) {
        char *folded = normalize_name(p->person->quartier);
        for (size_t q = 0; folded && q < x->n_quartiers && sc->quartier < 0; q++)
            if (strcmp(x->quartiers[q].folded, folded) == 0)
                sc->quartier = (int)q;
        free(folded);
    }
    relais__store__person_record__free_unpacked(p, NULL);
    return 0;
}

/* ---- 3. feeds: each case's history --------------------------------------- */

static int s_feed_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_ctx_t *x = arg;
    const char *k = key->mv_data;
    const char *nul = memchr(k, '\0', key->mv_size);
    if (!nul)
        return 0;
    size_t plen = (size_t)(nul - k);
    Relais__V1__StatusEvent *ev =
        relais__v1__status_event__unpack(NULL, val->mv_size, val->mv_data);
    if (!ev)
        return 0; /* verify reports it */
    s_case_t *sc = s_find_case(x, ev->case_id);
    int64_t at;
    if (!sc || sc->rec->n_referrers == 0 || !clock_parse(ev->at, &at))
        goto done;
    const Relais__Store__Referrer *first = sc->rec->referrers[0];
    if (strlen(first->partner) != plen || memcmp(first->partner, k, plen) != 0 ||
        strcmp(first->partner_ref, ev->partner_ref) != 0)
        goto done;
    switch (ev->state) {
    case RELAIS__V1__CASE_STATE__CASE_ROUTED:
        if (strncmp(ev->detail, REPORT_REMINDER_PREFIX, strlen(REPORT_REMINDER_PREFIX)) == 0) {
            sc->reminders++;
            break;
        }
        if (!sc->first_routed_at)
            sc->first_routed_at = at;
        if (sc->waitlist_in && !sc->waitlist_out)
            sc->waitlist_out = at;
        break;
    case RELAIS__V1__CASE_STATE__CASE_WAITLISTED:
        if (!sc->waitlist_in)
            sc->waitlist_in = at;
        break;
    case RELAIS__V1__CASE_STATE__CASE_DECLINED:
        if (*ev->structure_id &&
            strncmp(ev->detail, REPORT_NO_ANSWER_PREFIX, strlen(REPORT_NO_ANSWER_PREFIX)) == 0)
            sc->no_answers++;
        break;
    default:
        break;
    }
done:
    relais__v1__status_event__free_unpacked(ev, NULL);
    return 0;
}

/* Where the feed has nothing (events lost, an older store): the case
 * record's own dates. */
static void s_case_fallbacks(s_case_t *sc)
{
    const case_rec_t *c = sc->rec;
    if (!sc->first_routed_at && c->routed_at)
        sc->first_routed_at = c->routed_at;
    if (!sc->waitlist_in && c->state == RELAIS__V1__CASE_STATE__CASE_WAITLISTED)
        sc->waitlist_in = c->created_at;
}

/* ---- 4. referrals --------------------------------------------------------- */

static int s_reason_count(s_ctx_t *x, const Relais__V1__Reason *r)
{
    for (size_t i = 0; i < x->n_reasons; i++)
        if (strcmp(x->reasons[i].code, r->code) == 0) {
            x->reasons[i].count++;
            return 0;
        }
    int rc = s_grow((void **)&x->reasons, &x->cap_reasons, x->n_reasons, sizeof *x->reasons);
    if (rc != 0)
        return rc;
    s_reason_t *n = &x->reasons[x->n_reasons];
    snprintf(n->code, sizeof n->code, "%s", r->code);
    if (!(n->message = strdup(r->message)))
        return ENOMEM;
    n->count = 1;
    x->n_reasons++;
    return 0;
}

static int s_referral_one(void *arg, const MDB_val *key, const MDB_val *val)
{
    s_ctx_t *x = arg;
    char partner[REPORT_ID_MAX];
    const char *k = key->mv_data;
    const char *nul = memchr(k, '\0', key->mv_size);
    if (!nul || (size_t)(nul - k) >= sizeof partner)
        return 0;
    memcpy(partner, k, (size_t)(nul - k));
    partner[nul - k] = '\0';
    Relais__Store__ReferralRecord *r =
        relais__store__referral_record__unpack(NULL, val->mv_size, val->mv_data);
    if (!r)
        return 0; /* verify reports it */
    int64_t day = s_day(r->received_at);
    if (!s_day_in_period(x, day) || !r->ack)
        goto done;
    x->referrals++;
    int status = r->ack->status;
    if (status > 0 && status < VOCAB_ACK_STATUS_COUNT)
        x->by_status[status]++;
    size_t p = 0;
    while (p < x->cfg->n_partners && strcmp(x->cfg->partners[p].id, partner) != 0)
        p++;
    x->by_partner[p]++;
    int m = s_month_of_day(day) - x->first_month;
    if (m >= 0 && m < x->n_months)
        x->by_month_kind[(size_t)m * x->n_kinds + s_kind_index(x, partner)]++;
    if (status == RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE)
        for (size_t i = 0; i < r->ack->n_reasons && !x->rc; i++)
            x->rc = s_reason_count(x, r->ack->reasons[i]);
    s_case_t *sc = *r->case_id ? s_find_case(x, r->case_id) : NULL;
    if (sc && !x->rc) {
        x->with_case++;
        x->rc = s_grow((void **)&x->persons, &x->cap_persons, x->n_persons, sizeof *x->persons);
        if (!x->rc)
            x->persons[x->n_persons++] = sc->rec->person_id;
    }
done:
    relais__store__referral_record__free_unpacked(r, NULL);
    return x->rc != 0;
}

/* ---- the month axis -------------------------------------------------------- */

static int s_first_referral(void *arg, const MDB_val *key, const MDB_val *val)
{
    (void)key;
    int64_t *first = arg;
    Relais__Store__ReferralRecord *r =
        relais__store__referral_record__unpack(NULL, val->mv_size, val->mv_data);
    if (r) {
        int64_t d = s_day(r->received_at);
        if (*first == INT64_MAX || d < *first)
            *first = d;
        relais__store__referral_record__free_unpacked(r, NULL);
    }
    return 0;
}

static int s_months_init(s_ctx_t *x, int64_t today)
{
    int64_t first = INT64_MAX;
    int rc = 0;
    if (x->period && x->period->has_from) {
        first = date_to_days(x->period->from);
    } else {
        if ((rc = store_scan(x->t, STORE_REFERRALS, "", 0, NULL, 0, s_first_referral, &first)) != 0)
            return rc;
        for (size_t i = 0; i < x->n_cases; i++)
            if (x->cases[i].rec->created_at && s_day(x->cases[i].rec->created_at) < first)
                first = s_day(x->cases[i].rec->created_at);
    }
    int64_t last = x->period && x->period->has_to ? date_to_days(x->period->to) : today;
    if (first == INT64_MAX)
        first = last;
    x->first_month = s_month_of_day(first);
    int n = s_month_of_day(last) - x->first_month + 1;
    if (n < 1)
        n = 1;
    if (n > REPORT_MONTHS_MAX) { /* the most recent ones */
        x->first_month += n - REPORT_MONTHS_MAX;
        n = REPORT_MONTHS_MAX;
    }
    x->n_months = n;
    return 0;
}

/* ---- figures into JSON ------------------------------------------------------ */

/* A rate or a mean: null when there is nothing to divide. */
static json_t *s_ratio(uint64_t num, uint64_t den)
{
    return den ? json_real((double)num / (double)den) : json_null();
}

/* Median and 90th percentile (nearest rank: the smallest value with at
 * least 90 % of the values at or below it) of N whole days. */
static json_t *s_delay(int64_t *v, size_t n)
{
    if (n == 0)
        return json_pack("{s:I, s:n, s:n}", "n", (json_int_t)0, "median_days", "p90_days");
    qsort(v, n, sizeof *v, s_int_cmp);
    double median = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
    size_t rank = (size_t)ceil(0.9 * (double)n);
    return json_pack("{s:I, s:f, s:f}", "n", (json_int_t)n, "median_days", median, "p90_days",
                     (double)v[rank ? rank - 1 : 0]);
}

static json_t *s_referrals_json(s_ctx_t *x)
{
    json_t *by_status = json_object(), *by_partner = json_array(), *by_kind = json_array(),
           *by_month = json_array();
    for (int s = 1; s < VOCAB_ACK_STATUS_COUNT; s++)
        json_object_set_new(by_status, vocab_ack_status_name(s),
                            json_integer((json_int_t)x->by_status[s]));
    for (size_t p = 0; p <= x->cfg->n_partners; p++) {
        if (p == x->cfg->n_partners && !x->by_partner[p])
            break;
        const char *id = p < x->cfg->n_partners ? x->cfg->partners[p].id : "other";
        const char *kind = p < x->cfg->n_partners ? x->cfg->partners[p].kind : "other";
        json_array_append_new(by_partner, json_pack("{s:s, s:s, s:I}", "partner", id, "kind", kind,
                                                    "count", (json_int_t)x->by_partner[p]));
    }
    for (size_t k = 0; k < x->n_kinds; k++) {
        uint64_t n = 0;
        for (size_t p = 0; p <= x->cfg->n_partners; p++) {
            const char *kind = p < x->cfg->n_partners ? x->cfg->partners[p].kind : "other";
            if (strcmp(kind, x->kinds[k]) == 0)
                n += x->by_partner[p];
        }
        /* Every configured kind, "other" only when used. */
        if (n || k + 1 < x->n_kinds)
            json_array_append_new(
                by_kind, json_pack("{s:s, s:I}", "kind", x->kinds[k], "count", (json_int_t)n));
    }
    for (int m = 0; m < x->n_months; m++) {
        char name[8];
        uint64_t total = 0;
        json_t *kinds = json_object();
        s_month_name(x->first_month + m, name);
        for (size_t k = 0; k < x->n_kinds; k++) {
            uint64_t n = x->by_month_kind[(size_t)m * x->n_kinds + k];
            total += n;
            json_object_set_new(kinds, x->kinds[k], json_integer((json_int_t)n));
        }
        json_array_append_new(by_month, json_pack("{s:s, s:I, s:o}", "month", name, "total",
                                                  (json_int_t)total, "by_kind", kinds));
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o}", "total", (json_int_t)x->referrals, "by_status",
                     by_status, "by_partner", by_partner, "by_kind", by_kind, "by_month", by_month);
}

static json_t *s_persons_json(s_ctx_t *x)
{
    if (x->n_persons) /* qsort wants an array, even of none */
        qsort(x->persons, x->n_persons, sizeof *x->persons, s_u64_cmp);
    uint64_t distinct = 0;
    for (size_t i = 0; i < x->n_persons; i++)
        distinct += i == 0 || x->persons[i] != x->persons[i - 1];
    return json_pack("{s:I, s:I, s:I, s:o}", "persons", (json_int_t)distinct, "referrals_with_case",
                     (json_int_t)x->with_case, "merged",
                     (json_int_t)x->by_status[RELAIS__V1__ACK_STATUS__ACK_MERGED],
                     "referrals_per_person", s_ratio(x->with_case, distinct));
}

static json_t *s_eligibility_json(s_ctx_t *x)
{
    uint64_t eligible = x->by_status[RELAIS__V1__ACK_STATUS__ACK_ACCEPTED] +
                        x->by_status[RELAIS__V1__ACK_STATUS__ACK_WAITLISTED] +
                        x->by_status[RELAIS__V1__ACK_STATUS__ACK_REVIEW];
    uint64_t ineligible = x->by_status[RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE];
    json_t *reasons = json_array();
    for (size_t i = 0; i < x->n_reasons; i++)
        json_array_append_new(reasons, json_pack("{s:s, s:s, s:I}", "code", x->reasons[i].code,
                                                 "message", x->reasons[i].message, "count",
                                                 (json_int_t)x->reasons[i].count));
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "checked",
                     (json_int_t)(eligible + ineligible), "eligible", (json_int_t)eligible,
                     "ineligible", (json_int_t)ineligible, "invalid",
                     (json_int_t)x->by_status[RELAIS__V1__ACK_STATUS__ACK_INVALID], "rate",
                     s_ratio(eligible, eligible + ineligible), "reasons", reasons);
}

static bool s_declined_by(const case_rec_t *c, const char *structure)
{
    for (size_t i = 0; i < c->n_declined_by; i++)
        if (strcmp(c->declined_by[i], structure) == 0)
            return true;
    return false;
}

/* At a structure now or before: routed there at least once. */
static bool s_reached(const case_rec_t *c, const char *structure)
{
    return s_declined_by(c, structure) || strcmp(c->structure_id, structure) == 0;
}

static json_t *s_routing_json(s_ctx_t *x, json_t *declines)
{
    json_t *by_structure = json_array(), *by_quartier = json_array(),
           *decl_by = json_object_get(declines, "by_structure");
    uint64_t cases = 0, handbacks = 0;
    for (size_t s = 0; s < x->cfg->n_structures; s++) {
        const config_structure_t *st = &x->cfg->structures[s];
        uint64_t routed = 0, accepted = 0, declined = 0, pending = 0;
        for (size_t i = 0; i < x->n_cases; i++) {
            const case_rec_t *c = x->cases[i].rec;
            if (!x->cases[i].in_period || !s_reached(c, st->id))
                continue;
            routed++;
            if (s_declined_by(c, st->id))
                declined++;
            else if (c->answered_at)
                accepted++;
            else if (c->state == RELAIS__V1__CASE_STATE__CASE_ROUTED)
                pending++;
        }
        handbacks += declined;
        json_array_append_new(by_structure,
                              json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "structure", st->id,
                                        "kind", st->kind, "routed", (json_int_t)routed, "accepted",
                                        (json_int_t)accepted, "declined", (json_int_t)declined,
                                        "pending", (json_int_t)pending, "acceptance_rate",
                                        s_ratio(accepted, accepted + declined)));
        json_array_append_new(
            decl_by, json_pack("{s:s, s:I}", "structure", st->id, "count", (json_int_t)declined));
    }
    json_object_set_new(declines, "handbacks", json_integer((json_int_t)handbacks));
    uint64_t other[3] = {0, 0, 0};
    for (size_t i = 0; i < x->n_cases; i++) {
        const s_case_t *sc = &x->cases[i];
        if (!sc->in_period)
            continue;
        cases++;
        uint64_t *slot = sc->quartier >= 0 ? &x->quartiers[sc->quartier].cases : other;
        slot[0]++;
        slot[1] += sc->first_routed_at != 0;
        slot[2] += sc->rec->answered_at != 0;
    }
    for (size_t q = 0; q <= x->n_quartiers; q++) {
        const uint64_t *slot = q < x->n_quartiers ? &x->quartiers[q].cases : other;
        if (!slot[0])
            continue;
        json_array_append_new(by_quartier,
                              json_pack("{s:s, s:I, s:I, s:I}", "quartier",
                                        q < x->n_quartiers ? x->quartiers[q].name : "other",
                                        "cases", (json_int_t)slot[0], "routed", (json_int_t)slot[1],
                                        "accepted", (json_int_t)slot[2]));
    }
    return json_pack("{s:I, s:o, s:o}", "cases", (json_int_t)cases, "by_structure", by_structure,
                     "by_quartier", by_quartier);
}

enum { S_REF_ROUTE, S_ROUTE_ACCEPT, S_REF_ACCEPT, S_ACCEPT_CONTRACT, S_REF_CONTRACT, S_DELAYS };

static json_t *s_delays_json(s_ctx_t *x)
{
    static const char *const names[S_DELAYS] = {"referral_to_routing", "routing_to_acceptance",
                                                "referral_to_acceptance", "acceptance_to_contract",
                                                "referral_to_contract"};
    static const struct {
        const char *label;
        int64_t min, max; /* days, inclusive; max -1: no bound */
    } bins[] = {{"0-2", 0, 2},     {"3-7", 3, 7},     {"8-14", 8, 14},
                {"15-30", 15, 30}, {"31-60", 31, 60}, {"61+", 61, -1}};
    int64_t *v[S_DELAYS];
    size_t n[S_DELAYS] = {0};
    json_t *doc = NULL;
    for (int d = 0; d < S_DELAYS; d++)
        v[d] = calloc(x->n_cases + 1, sizeof *v[d]);
    for (int d = 0; d < S_DELAYS; d++)
        if (!v[d])
            goto cleanup;
    for (size_t i = 0; i < x->n_cases; i++) {
        const s_case_t *sc = &x->cases[i];
        const case_rec_t *c = sc->rec;
        if (!sc->in_period || !c->created_at)
            continue;
        int64_t created = s_day(c->created_at);
        date_t contract;
        bool has_contract = *c->contract_on && date_parse_iso(c->contract_on, &contract);
        if (sc->first_routed_at)
            v[S_REF_ROUTE][n[S_REF_ROUTE]++] = s_day(sc->first_routed_at) - created;
        if (c->answered_at && c->routed_at)
            v[S_ROUTE_ACCEPT][n[S_ROUTE_ACCEPT]++] = s_day(c->answered_at) - s_day(c->routed_at);
        if (c->answered_at)
            v[S_REF_ACCEPT][n[S_REF_ACCEPT]++] = s_day(c->answered_at) - created;
        if (c->answered_at && has_contract)
            v[S_ACCEPT_CONTRACT][n[S_ACCEPT_CONTRACT]++] =
                date_to_days(contract) - s_day(c->answered_at);
        if (has_contract)
            v[S_REF_CONTRACT][n[S_REF_CONTRACT]++] = date_to_days(contract) - created;
    }
    json_t *hist = json_array();
    for (size_t b = 0; b < sizeof bins / sizeof bins[0]; b++) {
        uint64_t count = 0;
        for (size_t i = 0; i < n[S_REF_ACCEPT]; i++)
            count += v[S_REF_ACCEPT][i] >= bins[b].min &&
                     (bins[b].max < 0 || v[S_REF_ACCEPT][i] <= bins[b].max);
        json_array_append_new(hist,
                              json_pack("{s:s, s:I, s:o, s:I}", "label", bins[b].label, "min_days",
                                        (json_int_t)bins[b].min, "max_days",
                                        bins[b].max < 0 ? json_null() : json_integer(bins[b].max),
                                        "count", (json_int_t)count));
    }
    doc = json_object();
    for (int d = 0; doc && d < S_DELAYS; d++)
        json_object_set_new(doc, names[d], s_delay(v[d], n[d]));
    json_object_set_new(doc, "histogram",
                        json_pack("{s:s, s:o}", "of", "referral_to_acceptance", "bins", hist));
cleanup:
    for (int d = 0; d < S_DELAYS; d++)
        free(v[d]);
    return doc;
}

static json_t *s_declines_json(s_ctx_t *x)
{
    uint64_t no_answer = 0, reminders = 0, all = 0;
    for (size_t i = 0; i < x->n_cases; i++) {
        const s_case_t *sc = &x->cases[i];
        if (!sc->in_period)
            continue;
        no_answer += sc->no_answers;
        reminders += sc->reminders;
        all += sc->rec->state == RELAIS__V1__CASE_STATE__CASE_DECLINED;
    }
    /* handbacks and by_structure: filled in by s_routing_json */
    return json_pack("{s:I, s:I, s:I, s:I, s:[]}", "handbacks", (json_int_t)0, "no_answer",
                     (json_int_t)no_answer, "reminders", (json_int_t)reminders, "declined_by_all",
                     (json_int_t)all, "by_structure");
}

static json_t *s_waitlist_json(s_ctx_t *x)
{
    json_t *by_month = json_array();
    uint64_t now = 0;
    for (size_t i = 0; i < x->n_cases; i++)
        now += x->cases[i].in_period &&
               x->cases[i].rec->state == RELAIS__V1__CASE_STATE__CASE_WAITLISTED;
    for (int m = 0; m < x->n_months; m++) {
        int month = x->first_month + m;
        int64_t end = s_month_end(month);
        uint64_t in = 0, out = 0, waiting = 0;
        for (size_t i = 0; i < x->n_cases; i++) {
            const s_case_t *sc = &x->cases[i];
            if (!sc->in_period || !sc->waitlist_in)
                continue;
            int64_t din = s_day(sc->waitlist_in),
                    dout = sc->waitlist_out ? s_day(sc->waitlist_out) : -1;
            in += s_month_of_day(din) == month;
            out += dout >= 0 && s_month_of_day(dout) == month;
            waiting += din <= end && (dout < 0 || dout > end);
        }
        char name[8];
        s_month_name(month, name);
        json_array_append_new(by_month, json_pack("{s:s, s:I, s:I, s:I}", "month", name, "entered",
                                                  (json_int_t)in, "left", (json_int_t)out,
                                                  "waiting_at_end", (json_int_t)waiting));
    }
    return json_pack("{s:I, s:o}", "waiting_now", (json_int_t)now, "by_month", by_month);
}

static json_t *s_outcomes_json(s_ctx_t *x)
{
    uint64_t counts[VOCAB_OUTCOME_COUNT] = {0}, closed = 0;
    for (size_t i = 0; i < x->n_cases; i++) {
        const case_rec_t *c = x->cases[i].rec;
        if (!x->cases[i].in_period || c->state != RELAIS__V1__CASE_STATE__CASE_CLOSED)
            continue;
        closed++;
        if (c->outcome > 0 && c->outcome < VOCAB_OUTCOME_COUNT)
            counts[c->outcome]++;
    }
    json_t *by = json_array();
    for (int o = 1; o < VOCAB_OUTCOME_COUNT; o++)
        json_array_append_new(by, json_pack("{s:s, s:I}", "outcome", vocab_outcome_name(o), "count",
                                            (json_int_t)counts[o]));
    return json_pack("{s:I, s:o}", "closed", (json_int_t)closed, "by_outcome", by);
}

static json_t *s_budget_json(s_ctx_t *x, const admin_budget_t *b, int64_t today)
{
    json_t *by_month = json_array();
    int64_t place_cents = (int64_t)b->place_eur * 100;
    for (int m = 0; m < x->n_months; m++) {
        int64_t end = s_month_end(x->first_month + m);
        if (end > today)
            end = today;
        int64_t reserved = 0, committed = 0, paid = 0;
        /* Every case, whatever the period: the budget is the programme's. */
        for (size_t i = 0; i < x->n_cases; i++) {
            const s_case_t *sc = &x->cases[i];
            const case_rec_t *c = sc->rec;
            date_t start, stop;
            bool contract = *c->contract_on && date_parse_iso(c->contract_on, &start) &&
                            date_parse_iso(c->contract_end, &stop) && date_to_days(start) <= end;
            if (contract) {
                committed += c->commitment_cents;
                if (date_to_days(stop) > end)
                    stop = date_from_days(end);
                paid += allowance_total(start, stop, x->cfg->allowance_eur);
            } else if (sc->first_routed_at && s_day(sc->first_routed_at) <= end &&
                       !(c->closed_at && s_day(c->closed_at) <= end)) {
                reserved += place_cents;
            }
        }
        char name[8];
        s_month_name(x->first_month + m, name);
        json_array_append_new(by_month,
                              json_pack("{s:s, s:I, s:I, s:I}", "month", name, "reserved_cents",
                                        (json_int_t)reserved, "committed_cents",
                                        (json_int_t)committed, "paid_cents", (json_int_t)paid));
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "envelope_eur",
                     (json_int_t)b->envelope_eur, "place_eur", (json_int_t)b->place_eur,
                     "reserved_eur", (json_int_t)b->reserved_eur, "reserved_places",
                     (json_int_t)b->reserved_places, "contracts", (json_int_t)b->contracts,
                     "committed_cents", (json_int_t)b->committed_cents, "paid_cents",
                     (json_int_t)b->paid_cents, "free_cents", (json_int_t)b->free_cents,
                     "waitlist_len", (json_int_t)b->waitlist_len, "by_month", by_month);
}

/* ---- compute ------------------------------------------------------------- */

static int s_kinds_init(s_ctx_t *x)
{
    x->kinds = calloc(x->cfg->n_partners + 1, sizeof *x->kinds);
    if (!x->kinds)
        return ENOMEM;
    for (size_t p = 0; p < x->cfg->n_partners; p++) {
        bool seen = false;
        for (size_t k = 0; k < x->n_kinds && !seen; k++)
            seen = strcmp(x->kinds[k], x->cfg->partners[p].kind) == 0;
        if (!seen)
            x->kinds[x->n_kinds++] = x->cfg->partners[p].kind;
    }
    /* Partners no longer configured count as "other" (listed when used). */
    bool other = false;
    for (size_t k = 0; k < x->n_kinds; k++)
        other |= strcmp(x->kinds[k], "other") == 0;
    if (!other)
        x->kinds[x->n_kinds++] = "other";
    return 0;
}

static void s_ctx_free(s_ctx_t *x)
{
    for (size_t i = 0; i < x->n_cases; i++)
        relais__store__case_record__free_unpacked(x->cases[i].rec, NULL);
    free(x->cases);
    for (size_t q = 0; x->quartiers && q < x->n_quartiers; q++)
        free(x->quartiers[q].folded);
    free(x->quartiers);
    for (size_t i = 0; i < x->n_reasons; i++)
        free(x->reasons[i].message);
    free(x->reasons);
    free(x->by_partner);
    free(x->by_month_kind);
    free(x->kinds);
    free(x->persons);
}

int report_compute(const char *store_dir, const config_t *cfg, const report_period_t *period,
                   json_t **out, char *err, size_t errlen)
{
    s_ctx_t x = {.cfg = cfg, .period = period};
    admin_budget_t budget;
    store_txn_t t = {0};
    store_t *store = NULL;
    json_t *doc = NULL;
    int status = -1, rc = 0;
    *out = NULL;
    /* The budget in its own transaction, before this one opens the store:
     * one environment per file per process (admin.h). */
    if (admin_budget(store_dir, cfg, NULL, false, &budget, err, errlen) != 0)
        return -1;
    if (!(store = store_open_reader(store_dir, &t, err, errlen)))
        return -1;
    x.t = &t;
    int64_t today = date_to_days(date_from_unix(clock_now()));
    if ((rc = s_kinds_init(&x)) != 0 || (rc = s_quartiers_init(&x)) != 0)
        goto store_error;
    /* 1, 2, 3: cases, their quartier, their history */
    if ((rc = store_scan(&t, STORE_CASES, "", 0, NULL, 0, s_case_one, &x)) != 0 || (rc = x.rc) != 0)
        goto store_error;
    for (size_t i = 0; i < x.n_cases; i++)
        if (x.cases[i].in_period && (rc = s_case_quartier(&x, &x.cases[i])) != 0)
            goto store_error;
    if ((rc = store_scan(&t, STORE_FEEDS, "", 0, NULL, 0, s_feed_one, &x)) != 0)
        goto store_error;
    for (size_t i = 0; i < x.n_cases; i++)
        s_case_fallbacks(&x.cases[i]);
    /* 4: referrals, per month */
    if ((rc = s_months_init(&x, today)) != 0)
        goto store_error;
    x.by_partner = calloc(cfg->n_partners + 1, sizeof *x.by_partner);
    x.by_month_kind = calloc((size_t)x.n_months * x.n_kinds, sizeof *x.by_month_kind);
    if (!x.by_partner || !x.by_month_kind) {
        rc = ENOMEM;
        goto store_error;
    }
    if ((rc = store_scan(&t, STORE_REFERRALS, "", 0, NULL, 0, s_referral_one, &x)) != 0 ||
        (rc = x.rc) != 0)
        goto store_error;

    char from[11] = "", to[11] = "", gen[11], first[8], last[8];
    if (period && period->has_from)
        date_format(period->from, from);
    if (period && period->has_to)
        date_format(period->to, to);
    date_format(date_from_days(today), gen);
    s_month_name(x.first_month, first);
    s_month_name(x.first_month + x.n_months - 1, last);
    json_t *months = json_array(), *declines = s_declines_json(&x);
    for (int m = 0; months && m < x.n_months; m++) {
        char name[8];
        s_month_name(x.first_month + m, name);
        json_array_append_new(months, json_string(name));
    }
    json_t *routing = declines ? s_routing_json(&x, declines) : NULL;
    doc = json_pack("{s:{s:s?, s:s?}, s:s, s:o, s:o, s:o, s:o, s:o*, s:o*, s:o*, s:o, s:o, s:o}",
                    "period", "from", *from ? from : NULL, "to", *to ? to : NULL, "generated_on",
                    gen, "months", months, "referrals", s_referrals_json(&x), "persons",
                    s_persons_json(&x), "eligibility", s_eligibility_json(&x), "routing", routing,
                    "delays", s_delays_json(&x), "declines", declines, "waitlist",
                    s_waitlist_json(&x), "outcomes", s_outcomes_json(&x), "budget",
                    s_budget_json(&x, &budget, today));
    if (!doc || !routing || !json_object_get(doc, "delays") || !json_object_get(doc, "declines")) {
        errbuf_set(err, errlen, "out of memory (or a configured name is not UTF-8)");
        goto cleanup;
    }
    *out = doc;
    doc = NULL;
    status = 0;
    goto cleanup;
store_error:
    errbuf_set(err, errlen, "cannot read store %s: %s", store_dir,
           rc == ENOMEM ? "out of memory" : store_strerror(rc));
cleanup:
    json_decref(doc);
    s_ctx_free(&x);
    store_abort(&t);
    store_close(&store);
    return status;
}

/* ---- renderings: text and CSV, generic over the document ---------------- */

/* An array element's name: its first string member ("partner", "month",
 * "structure"...), else its index. */
static const char *s_item_id(const json_t *o, size_t index, char buf[24], const char **key)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (json_is_string(v)) {
            *key = k;
            return json_string_value(v);
        }
    }
    *key = NULL;
    snprintf(buf, 24, "%zu", index);
    return buf;
}

static void s_scalar(FILE *out, const json_t *v, bool csv)
{
    if (json_is_integer(v))
        fprintf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(out, "%.4g", json_real_value(v));
    else if (json_is_null(v))
        fprintf(out, csv ? "" : "-");
    else if (json_is_boolean(v))
        fprintf(out, json_is_true(v) ? "true" : "false");
    else if (json_is_string(v) && csv) {
        fputc('"', out);
        for (const char *c = json_string_value(v); *c; c++) {
            if (*c == '"')
                fputc('"', out);
            fputc(*c, out);
        }
        fputc('"', out);
    } else if (json_is_string(v)) {
        fprintf(out, "%s", json_string_value(v));
    }
}

/* CSV field (ids and keys): quoted only when it must be. */
static void s_csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\n\r")) {
        json_t *v = json_string(s);
        s_scalar(out, v, true);
        json_decref(v);
    } else {
        fputs(s, out);
    }
}

static void s_csv_walk(FILE *out, const char *section, const char *item, const char *measure,
                       const json_t *v)
{
    char m[256], it[256];
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            snprintf(m, sizeof m, "%s%s%s", measure, *measure ? "." : "", k);
            s_csv_walk(out, section, item, m, c);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach((json_t *)v, i, e)
        {
            char buf[24];
            const char *idkey = NULL, *id;
            if (!json_is_object(e)) {
                snprintf(buf, sizeof buf, "%zu", i);
                snprintf(it, sizeof it, "%s%s%s", item, *item ? "/" : "", buf);
                s_csv_walk(out, section, it, measure, e);
                continue;
            }
            id = s_item_id(e, i, buf, &idkey);
            snprintf(it, sizeof it, "%s%s%s", item, *item ? "/" : "", id);
            const char *k;
            json_t *c;
            json_object_foreach(e, k, c)
            {
                if (idkey && strcmp(k, idkey) == 0)
                    continue;
                snprintf(m, sizeof m, "%s%s%s", measure, *measure ? "." : "", k);
                s_csv_walk(out, section, it, m, c);
            }
        }
    } else {
        fprintf(out, "%s,", section);
        s_csv_field(out, item);
        fputc(',', out);
        s_csv_field(out, measure);
        fputc(',', out);
        s_scalar(out, v, true);
        fputc('\n', out);
    }
}

static void s_text_walk(FILE *out, int depth, const char *name, const json_t *v)
{
    if (json_is_object(v)) {
        fprintf(out, "%*s%s:\n", depth * 2, "", name);
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) s_text_walk(out, depth + 1, k, c);
    } else if (json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0))) {
        /* A table: one line per element, "id  key value, key value". */
        fprintf(out, "%*s%s:\n", depth * 2, "", name);
        size_t i;
        json_t *e;
        json_array_foreach((json_t *)v, i, e)
        {
            char buf[24];
            const char *idkey, *k;
            json_t *c;
            fprintf(out, "%*s%-22s", (depth + 1) * 2, "", s_item_id(e, i, buf, &idkey));
            int n = 0;
            json_object_foreach(e, k, c)
            {
                if (idkey && strcmp(k, idkey) == 0)
                    continue;
                fprintf(out, "%s%s ", n++ ? ", " : " ", k);
                if (json_is_object(c)) {
                    const char *k2;
                    json_t *c2;
                    int n2 = 0;
                    fputc('{', out);
                    json_object_foreach(c, k2, c2)
                    {
                        fprintf(out, "%s%s ", n2++ ? ", " : "", k2);
                        s_scalar(out, c2, false);
                    }
                    fputc('}', out);
                } else {
                    s_scalar(out, c, false);
                }
            }
            fputc('\n', out);
        }
    } else if (json_is_array(v)) {
        fprintf(out, "%*s%s:", depth * 2, "", name);
        size_t i;
        json_t *e;
        json_array_foreach((json_t *)v, i, e)
        {
            fputc(' ', out);
            s_scalar(out, e, false);
        }
        fputc('\n', out);
    } else {
        fprintf(out, "%*s%s: ", depth * 2, "", name);
        s_scalar(out, v, false);
        fputc('\n', out);
    }
}

int report_write(const json_t *report, const config_t *cfg, report_format_t format, FILE *out,
                 char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    switch (format) {
    case REPORT_JSON:
        if (json_dumpf(report, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF)
            return errbuf_set(err, errlen, "cannot write the report");
        return 0;
    case REPORT_HTML:
        return report_html_write(report, cfg, out, err, errlen);
    case REPORT_CSV:
        fprintf(out, "section,item,measure,value\n");
        json_object_foreach((json_t *)report, k, v)
        {
            if (strcmp(k, "months") == 0)
                continue; /* the axis: in every by_month already */
            s_csv_walk(out, k, "", "", v);
        }
        break;
    case REPORT_TEXT:
        fprintf(out, "relais evaluation report — %s\n", cfg->programme_name);
        json_object_foreach((json_t *)report, k, v)
        {
            if (strcmp(k, "months") != 0)
                s_text_walk(out, 0, k, v);
        }
        break;
    }
    if (ferror(out))
        return errbuf_set(err, errlen, "cannot write the report");
    return 0;
}
