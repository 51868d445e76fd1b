/*  test_report — the evaluation report (report.c), the payments
 *  (payments.c) and the decision notices (notice.c) on a real LMDB store.
 *
 *  As test_admin.c does: each test builds its store in a fresh mkdtemp
 *  directory through the real request path (packed Envelopes into
 *  service_handle, each in its own committed write transaction), with the
 *  clock pinned at noon UTC on chosen days, then closes it and calls the
 *  module, which opens the store read-only.
 *
 *  The report scenario (default Besançon configuration), every figure
 *  worked out by hand below:
 *    2026-03-02  mission-locale/ml-1  Léa Durand, Planoise  -> C0000001 asq-planoise
 *                mission-locale/ml-2  Yanis Martin, Montrapon -> C0000002 asq-montrapon
 *                mission-locale/ml-3  Inès Bernard, Battant -> C0000003 mdq-battant
 *                mission-locale/ml-4  born 1990             -> ineligible (too_old)
 *                ccas/cc-1            receives the RSA      -> ineligible (benefit_rsa)
 *                ccas/cc-2            Léa Durand again      -> merged into C0000001
 *                ccas/cc-3            Noah Petit, Palente   -> C0000004 mdq-palente
 *    2026-03-04  asq-planoise accepts C0000001          (2 days after routing)
 *    2026-03-06  asq-montrapon accepts C0000002         (4 days)
 *    2026-03-07  mdq-battant declines C0000003 -> re-routed to assoc-insertion
 *    2026-03-10  assoc-insertion accepts C0000003       (3 days after the re-routing,
 *                                                        8 after the referral)
 *    2026-03-12  C0000001 diagnosis, plan
 *    2026-03-16  C0000001 contract, 2026-03-16 .. 2027-03-15 (12 x 500 EUR)
 *    2026-03-22  C0000002 closed: employment; the report is made that day.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "admin.h"
#include "identity.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "notice.h"
#include "payments.h"
#include "relais.pb-c.h"
#include "report.h"
#include "service.h"
#include "store.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_SIZE (64u << 20)

static char s_dir[64];
static char s_data[128];
static config_t *s_cfg;

/* ---- fixture ------------------------------------------------------------- */

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Noon UTC on Y-M-D (the same day in Paris). */
static void s_on(int y, int m, int d)
{
    clock_set(date_to_days((date_t){y, m, d}) * 86400 + 12 * 3600);
}

static void s_setup(void)
{
    char err[256] = "";
    log_set_level(LOG_WARN);
    strcpy(s_dir, "/tmp/relais-test-report-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    s_cfg = config_load_default(err, sizeof err);
    cr_assert_not_null(s_cfg, "%s", err);
}

static void s_teardown(void)
{
    config_free(&s_cfg);
    clock_reset();
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the request path (as test_admin.c) --------------------------------- */

typedef struct {
    store_t *store;
    service_t *service;
} s_broker_t;

static s_broker_t s_broker_open(void)
{
    char err[256] = "";
    s_broker_t b;
    b.store = store_open(s_data, MAP_SIZE, false, err, sizeof err);
    cr_assert_not_null(b.store, "%s", err);
    cr_assert_eq(identity_init(s_data, err, sizeof err), 0, "%s", err);
    b.service = service_new(s_cfg, err, sizeof err);
    cr_assert_not_null(b.service, "%s", err);
    return b;
}

static void s_broker_close(s_broker_t *b)
{
    service_destroy(&b->service);
    store_close(&b->store);
}

static Relais__V1__Envelope *s_request(s_broker_t *b, service_endpoint_t ep,
                                       Relais__V1__Envelope *env)
{
    store_txn_t batch;
    size_t len = relais__v1__envelope__get_packed_size(env), reply_len = 0;
    uint8_t *frame = malloc(len ? len : 1), *reply = NULL;
    cr_assert_not_null(frame);
    relais__v1__envelope__pack(env, frame);
    cr_assert_eq(store_begin(b->store, true, NULL, &batch), 0);
    cr_assert_eq(service_handle(b->service, &batch, ep, frame, len, true, &reply, &reply_len, NULL), 0);
    cr_assert_eq(store_commit(&batch), 0);
    free(frame);
    Relais__V1__Envelope *out = relais__v1__envelope__unpack(NULL, reply_len, reply);
    free(reply);
    cr_assert_not_null(out);
    return out;
}

#define ST(x)  RELAIS__V1__CASE_STATE__CASE_##x
#define ACK(x) RELAIS__V1__ACK_STATUS__ACK_##x
#define ACT(x) RELAIS__V1__ACTION_KIND__ACTION_##x
#define OUT(x) RELAIS__V1__OUTCOME__OUTCOME_##x

/* A referral of a young person with BENEFIT (NONE: eligible by it); the
 * answer must be STATUS (and CASE_ID when not NULL). */
static void s_refer(s_broker_t *b, const char *partner, const char *ref, const char *last,
                    const char *first, const char *born, const char *quartier,
                    Relais__V1__Benefit benefit, Relais__V1__AckStatus status, const char *case_id)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__Referral r = RELAIS__V1__REFERRAL__INIT;
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    p.last_name = (char *)last;
    p.first_names = (char *)first;
    p.birth_date = (char *)born;
    p.quartier = (char *)quartier;
    r.partner_ref = (char *)ref;
    r.person = &p;
    r.benefits = &benefit;
    r.n_benefits = 1;
    r.consent = 1;
    env.version = 1;
    env.request_id = (char *)ref;
    env.sender = (char *)partner;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    env.referral = &r;
    Relais__V1__Envelope *reply = s_request(b, SERVICE_PARTNER, &env);
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ACK, "%s: no Ack", ref);
    cr_assert_eq(reply->ack->status, status, "%s: status %d", ref, reply->ack->status);
    if (case_id)
        cr_assert_str_eq(reply->ack->case_id, case_id);
    relais__v1__envelope__free_unpacked(reply, NULL);
}

#define NONE RELAIS__V1__BENEFIT__BENEFIT_NONE

/* STRUCTURE acts on CASE_ID; the action must succeed and leave STATE. */
static void s_act(s_broker_t *b, const char *structure, const char *case_id,
                  Relais__V1__ActionKind kind, Relais__V1__CaseState milestone,
                  Relais__V1__Outcome outcome, const char *reason, const char *on,
                  const char *contract_end, Relais__V1__CaseState state)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
    a.case_id = (char *)case_id;
    a.kind = kind;
    a.milestone = milestone;
    a.outcome = outcome;
    a.reason = (char *)(reason ? reason : "");
    a.on_date = (char *)(on ? on : "");
    a.contract_end = (char *)(contract_end ? contract_end : "");
    env.version = 1;
    env.request_id = "act";
    env.sender = (char *)structure;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_CASE_ACTION;
    env.case_action = &a;
    Relais__V1__Envelope *reply = s_request(b, SERVICE_COORDINATOR, &env);
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT);
    cr_assert(reply->action_result->ok, "%s on %s refused: %s", structure, case_id,
              reply->action_result->error ? reply->action_result->error->message : "?");
    cr_assert_eq(reply->action_result->state, state, "%s: state %d", case_id,
                 reply->action_result->state);
    relais__v1__envelope__free_unpacked(reply, NULL);
}

static void s_accept(s_broker_t *b, const char *structure, const char *case_id)
{
    s_act(b, structure, case_id, ACT(ACCEPT), 0, 0, NULL, NULL, NULL, ST(ACCEPTED));
}

/* Accepted -> diagnosis -> plan -> contract from ON to END ("" : longest). */
static void s_to_contract(s_broker_t *b, const char *structure, const char *case_id, const char *on,
                          const char *end)
{
    s_act(b, structure, case_id, ACT(MILESTONE), ST(DIAGNOSIS_DONE), 0, NULL, on, NULL,
          ST(DIAGNOSIS_DONE));
    s_act(b, structure, case_id, ACT(MILESTONE), ST(PLAN_AGREED), 0, NULL, on, NULL,
          ST(PLAN_AGREED));
    s_act(b, structure, case_id, ACT(MILESTONE), ST(CONTRACT_SIGNED), 0, NULL, on, end,
          ST(CONTRACT_SIGNED));
}

/* The scenario of the file's header. */
static void s_scenario(void)
{
    s_broker_t b = s_broker_open();
    s_on(2026, 3, 2);
    s_refer(&b, "mission-locale", "ml-1", "Durand", "Léa", "2004-05-06", "Planoise", NONE,
            ACK(ACCEPTED), "C0000001");
    s_refer(&b, "mission-locale", "ml-2", "Martin", "Yanis", "2005-01-02", "Montrapon", NONE,
            ACK(ACCEPTED), "C0000002");
    s_refer(&b, "mission-locale", "ml-3", "Bernard", "Inès", "2006-07-08", "Battant", NONE,
            ACK(ACCEPTED), "C0000003");
    s_refer(&b, "mission-locale", "ml-4", "Vieux", "Paul", "1990-01-01", "Planoise", NONE,
            ACK(INELIGIBLE), NULL);
    s_refer(&b, "ccas", "cc-1", "Roux", "Emma", "2004-02-02", "Centre",
            RELAIS__V1__BENEFIT__BENEFIT_RSA, ACK(INELIGIBLE), NULL);
    s_refer(&b, "ccas", "cc-2", "DURAND", "Lea", "2004-05-06", "planoise", NONE, ACK(MERGED),
            "C0000001");
    s_refer(&b, "ccas", "cc-3", "Petit", "Noah", "2003-11-12", "Palente", NONE, ACK(ACCEPTED),
            "C0000004");
    s_on(2026, 3, 4);
    s_accept(&b, "asq-planoise", "C0000001");
    s_on(2026, 3, 6);
    s_accept(&b, "asq-montrapon", "C0000002");
    s_on(2026, 3, 7);
    s_act(&b, "mdq-battant", "C0000003", ACT(DECLINE), 0, 0, "plus de place avant avril", NULL,
          NULL, ST(ROUTED));
    s_on(2026, 3, 10);
    s_accept(&b, "assoc-insertion", "C0000003");
    s_on(2026, 3, 16);
    s_to_contract(&b, "asq-planoise", "C0000001", "2026-03-16", NULL);
    s_on(2026, 3, 22);
    s_act(&b, "asq-montrapon", "C0000002", ACT(CLOSE), 0, OUT(EMPLOYMENT), NULL, NULL, NULL,
          ST(CLOSED));
    s_broker_close(&b);
}

/* ---- helpers on results ---------------------------------------------------- */

static json_t *s_report(const report_period_t *period)
{
    json_t *doc = NULL;
    char err[256] = "";
    cr_assert_eq(report_compute(s_data, s_cfg, period, &doc, err, sizeof err), 0, "%s", err);
    return doc;
}

/* The integer at PATH ("a.b", or "a.b[key=value].c" for the element of an
 * array whose member KEY is VALUE). */
static const json_t *s_at(const json_t *doc, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *o = doc;
    for (char *part = strtok(buf, "."); o && part; part = strtok(NULL, ".")) {
        char *sel = strchr(part, '[');
        if (sel) {
            *sel++ = '\0';
            char *eq = strchr(sel, '=');
            cr_assert_not_null(eq, "bad path %s", path);
            *eq++ = '\0';
            eq[strcspn(eq, "]")] = '\0';
            const json_t *arr = json_object_get(o, part), *found = NULL, *e;
            size_t i;
            json_array_foreach((json_t *)arr, i, e)
            {
                const char *v = json_string_value(json_object_get(e, sel));
                if (v && strcmp(v, eq) == 0)
                    found = e;
            }
            o = found;
        } else {
            o = json_object_get(o, part);
        }
    }
    cr_assert_not_null(o, "no %s in the report", path);
    return o;
}

static void s_int(const json_t *doc, const char *path, long long want)
{
    const json_t *v = s_at(doc, path);
    cr_expect(json_is_integer(v), "%s is not an integer", path);
    cr_expect_eq(json_integer_value(v), want, "%s = %lld, %lld expected", path,
                 (long long)json_integer_value(v), want);
}

static void s_real(const json_t *doc, const char *path, double want)
{
    const json_t *v = s_at(doc, path);
    cr_expect(json_is_number(v), "%s is not a number", path);
    cr_expect(fabs(json_number_value(v) - want) < 1e-9, "%s = %g, %g expected", path,
              json_number_value(v), want);
}

static void s_null(const json_t *doc, const char *path)
{
    cr_expect(json_is_null(s_at(doc, path)), "%s should be null", path);
}

/* ---- report ---------------------------------------------------------------- */

TestSuite(report, .init = s_setup, .fini = s_teardown);

Test(report, referrals_persons_and_eligibility)
{
    s_scenario();
    json_t *r = s_report(NULL);
    cr_expect_str_eq(json_string_value(s_at(r, "generated_on")), "2026-03-22");
    cr_expect_eq(json_array_size(s_at(r, "months")), 1);
    /* 7 referrals: 4 from the Mission locale, 3 from the CCAS. */
    s_int(r, "referrals.total", 7);
    s_int(r, "referrals.by_status.accepted", 4);
    s_int(r, "referrals.by_status.merged", 1);
    s_int(r, "referrals.by_status.ineligible", 2);
    s_int(r, "referrals.by_status.invalid", 0);
    s_int(r, "referrals.by_status.waitlisted", 0);
    s_int(r, "referrals.by_status.review", 0);
    s_int(r, "referrals.by_partner[partner=mission-locale].count", 4);
    s_int(r, "referrals.by_partner[partner=ccas].count", 3);
    s_int(r, "referrals.by_partner[partner=rectorat].count", 0);
    s_int(r, "referrals.by_kind[kind=mission_locale].count", 4);
    s_int(r, "referrals.by_kind[kind=ccas].count", 3);
    s_int(r, "referrals.by_kind[kind=association].count", 0);
    s_int(r, "referrals.by_month[month=2026-03].total", 7);
    s_int(r, "referrals.by_month[month=2026-03].by_kind.mission_locale", 4);
    s_int(r, "referrals.by_month[month=2026-03].by_kind.ccas", 3);
    /* 5 referrals joined a case (the 4 new ones and the merge); 4 young
     * people: 5 / 4 = 1.25 referrals per person. */
    s_int(r, "persons.persons", 4);
    s_int(r, "persons.referrals_with_case", 5);
    s_int(r, "persons.merged", 1);
    s_real(r, "persons.referrals_per_person", 1.25);
    /* Checked: the 4 accepted + 2 ineligible (the merge is not checked). */
    s_int(r, "eligibility.checked", 6);
    s_int(r, "eligibility.eligible", 4);
    s_int(r, "eligibility.ineligible", 2);
    s_real(r, "eligibility.rate", 4.0 / 6.0);
    cr_expect_eq(json_array_size(s_at(r, "eligibility.reasons")), 2);
    s_int(r, "eligibility.reasons[code=too_old].count", 1);
    s_int(r, "eligibility.reasons[code=benefit_rsa].count", 1);
    cr_expect_not_null(strstr(json_string_value(s_at(r, "eligibility.reasons[code=benefit_rsa]"
                                                        ".message")),
                              "RSA"));
    json_decref(r);
}

Test(report, routing_delays_declines_outcomes_budget)
{
    s_scenario();
    json_t *r = s_report(NULL);
    s_int(r, "routing.cases", 4);
    s_int(r, "routing.by_structure[structure=asq-planoise].routed", 1);
    s_int(r, "routing.by_structure[structure=asq-planoise].accepted", 1);
    s_real(r, "routing.by_structure[structure=asq-planoise].acceptance_rate", 1.0);
    s_int(r, "routing.by_structure[structure=asq-montrapon].accepted", 1);
    s_int(r, "routing.by_structure[structure=mdq-battant].routed", 1);
    s_int(r, "routing.by_structure[structure=mdq-battant].declined", 1);
    s_int(r, "routing.by_structure[structure=mdq-battant].accepted", 0);
    s_real(r, "routing.by_structure[structure=mdq-battant].acceptance_rate", 0.0);
    s_int(r, "routing.by_structure[structure=assoc-insertion].routed", 1);
    s_int(r, "routing.by_structure[structure=assoc-insertion].accepted", 1);
    s_int(r, "routing.by_structure[structure=mdq-palente].pending", 1);
    s_null(r, "routing.by_structure[structure=mdq-palente].acceptance_rate");
    s_int(r, "routing.by_structure[structure=asq-centre].routed", 0);
    /* Quartiers, as configured; "planoise" of the merge is the same. */
    cr_expect_eq(json_array_size(s_at(r, "routing.by_quartier")), 4);
    s_int(r, "routing.by_quartier[quartier=Planoise].cases", 1);
    s_int(r, "routing.by_quartier[quartier=Planoise].accepted", 1);
    s_int(r, "routing.by_quartier[quartier=Battant].accepted", 1);
    s_int(r, "routing.by_quartier[quartier=Palente].routed", 1);
    s_int(r, "routing.by_quartier[quartier=Palente].accepted", 0);

    /* Delays in days.  First routing: all on the day of the referral (the
     * re-routing of C0000003 on 03-07 is not its first). */
    s_int(r, "delays.referral_to_routing.n", 4);
    s_real(r, "delays.referral_to_routing.median_days", 0);
    s_real(r, "delays.referral_to_routing.p90_days", 0);
    /* Last routing -> acceptance: 2, 4, 3 -> median 3; 90th pct (rank 3): 4. */
    s_int(r, "delays.routing_to_acceptance.n", 3);
    s_real(r, "delays.routing_to_acceptance.median_days", 3);
    s_real(r, "delays.routing_to_acceptance.p90_days", 4);
    /* Referral -> acceptance: 2, 4, 8. */
    s_real(r, "delays.referral_to_acceptance.median_days", 4);
    s_real(r, "delays.referral_to_acceptance.p90_days", 8);
    /* Accepted 03-04, contract 03-16: 12 days; 14 from the referral. */
    s_int(r, "delays.acceptance_to_contract.n", 1);
    s_real(r, "delays.acceptance_to_contract.median_days", 12);
    s_real(r, "delays.referral_to_contract.p90_days", 14);
    s_int(r, "delays.histogram.bins[label=0-2].count", 1);
    s_int(r, "delays.histogram.bins[label=3-7].count", 1);
    s_int(r, "delays.histogram.bins[label=8-14].count", 1);
    s_int(r, "delays.histogram.bins[label=15-30].count", 0);

    s_int(r, "declines.handbacks", 1);
    s_int(r, "declines.no_answer", 0);
    s_int(r, "declines.reminders", 0);
    s_int(r, "declines.declined_by_all", 0);
    s_int(r, "declines.by_structure[structure=mdq-battant].count", 1);
    s_int(r, "declines.by_structure[structure=asq-planoise].count", 0);
    s_int(r, "waitlist.waiting_now", 0);
    s_int(r, "waitlist.by_month[month=2026-03].waiting_at_end", 0);
    s_int(r, "outcomes.closed", 1);
    s_int(r, "outcomes.by_outcome[outcome=employment].count", 1);
    s_int(r, "outcomes.by_outcome[outcome=training].count", 0);

    /* Budget on 03-22: C0000003 and C0000004 hold a place (2 x 6000 EUR);
     * C0000001's contract commits 12 x 500 EUR, of which 7 days of March
     * are due (500 x 7/31 = 112.90). */
    s_int(r, "budget.reserved_places", 2);
    s_int(r, "budget.reserved_eur", 12000);
    s_int(r, "budget.contracts", 1);
    s_int(r, "budget.committed_cents", 600000);
    s_int(r, "budget.paid_cents", 11290);
    s_int(r, "budget.free_cents", 100000000 - 1200000 - 600000);
    s_int(r, "budget.by_month[month=2026-03].reserved_cents", 1200000);
    s_int(r, "budget.by_month[month=2026-03].committed_cents", 600000);
    s_int(r, "budget.by_month[month=2026-03].paid_cents", 11290);
    json_decref(r);
}

Test(report, period_filters_referrals_and_cases)
{
    s_scenario();
    report_period_t before = {.has_to = true, .to = {2026, 3, 1}};
    json_t *r = s_report(&before);
    s_int(r, "referrals.total", 0);
    s_int(r, "routing.cases", 0);
    s_null(r, "eligibility.rate");
    s_null(r, "persons.referrals_per_person");
    s_int(r, "delays.referral_to_acceptance.n", 0);
    s_null(r, "delays.referral_to_acceptance.median_days");
    /* The budget is the programme's, whatever the period. */
    s_int(r, "budget.committed_cents", 600000);
    json_decref(r);
    report_period_t march = {
        .has_from = true, .from = {2026, 3, 2}, .has_to = true, .to = {2026, 3, 2}};
    r = s_report(&march);
    s_int(r, "referrals.total", 7);
    s_int(r, "routing.cases", 4);
    cr_expect_str_eq(json_string_value(s_at(r, "period.from")), "2026-03-02");
    json_decref(r);
}

/* Every format, and none shows a name, a birth date or a free-text reason. */
Test(report, formats_show_no_personal_data)
{
    s_scenario();
    json_t *r = s_report(NULL);
    for (int f = REPORT_TEXT; f <= REPORT_HTML; f++) {
        char *text = NULL, err[256] = "";
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        cr_assert_not_null(out);
        cr_assert_eq(report_write(r, s_cfg, (report_format_t)f, out, err, sizeof err), 0, "%s",
                     err);
        fclose(out);
        static const char *const personal[] = {"Durand",     "DURAND",        "Léa",
                                               "Bernard",    "Inès",          "2004-05-06",
                                               "1990-01-01", "plus de place", NULL};
        for (size_t i = 0; personal[i]; i++)
            cr_expect_null(strstr(text, personal[i]), "format %d shows \"%s\"", f, personal[i]);
        if (f == REPORT_CSV) {
            cr_expect_eq(strncmp(text, "section,item,measure,value\n", 27), 0);
            cr_expect_not_null(strstr(text, "\npersons,,referrals_per_person,1.25\n"), "%s", text);
            cr_expect_not_null(strstr(text, "\nreferrals,mission-locale,by_partner.count,4\n"));
        } else if (f == REPORT_HTML) {
            cr_expect_eq(strncmp(text, "<!DOCTYPE html>", 15), 0);
            cr_expect_not_null(strstr(text, "<html lang=\"fr\">"));
            cr_expect_not_null(strstr(text, "id=\"chart-referrals\""));
            cr_expect_not_null(strstr(text, "id=\"chart-delays\""));
            cr_expect_not_null(strstr(text, "id=\"chart-outcomes\""));
            cr_expect_not_null(strstr(text, "id=\"chart-budget\""));
            cr_expect_null(strstr(text, "<script"));
            cr_expect_null(strstr(text, "http://www.w3.org/2000/svg\" src"));
            cr_expect_null(strstr(text, " href=\"http"), "no external asset");
        } else if (f == REPORT_TEXT) {
            cr_expect_not_null(strstr(text, "referrals_per_person: 1.25\n"), "%s", text);
        }
        free(text);
    }
    json_decref(r);
}

/* ---- payments ---------------------------------------------------------------- */

TestSuite(payments, .init = s_setup, .fini = s_teardown);

static payments_total_t s_pay(int year, int month)
{
    payments_total_t t;
    char err[256] = "";
    cr_assert_eq(
        payments_month(s_data, s_cfg, year, month, NULL, PAYMENTS_TEXT, &t, err, sizeof err), 0,
        "%s", err);
    return t;
}

/* The sum of every month's payments from Y1-M1 to Y2-M2. */
static int64_t s_pay_sum(int y1, int m1, int y2, int m2)
{
    int64_t sum = 0;
    for (int y = y1, m = m1; y < y2 || (y == y2 && m <= m2);) {
        sum += s_pay(y, m).total_cents;
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return sum;
}

static int64_t s_committed(void)
{
    admin_budget_t b;
    char err[256] = "";
    cr_assert_eq(admin_budget(s_data, s_cfg, NULL, false, &b, err, sizeof err), 0, "%s", err);
    return b.committed_cents;
}

Test(payments, month_boundaries_add_up_to_the_commitment)
{
    s_scenario();
    /* 2026-03-16 .. 2027-03-15: March 16 days of 31 (258.06), eleven full
     * months, March 2027 15 days of 31 (241.94): 6000 EUR. */
    cr_expect_eq(s_pay(2026, 2).total_cents, 0);
    cr_expect_eq(s_pay(2026, 3).total_cents, 25806);
    cr_expect_eq(s_pay(2026, 3).contracts, 1);
    cr_expect_eq(s_pay(2026, 4).total_cents, 50000);
    cr_expect_eq(s_pay(2027, 2).total_cents, 50000);
    cr_expect_eq(s_pay(2027, 3).total_cents, 24194);
    cr_expect_eq(s_pay(2027, 4).total_cents, 0);
    cr_expect_eq(s_pay_sum(2026, 1, 2027, 12), 600000);
    cr_expect_eq(s_pay_sum(2026, 1, 2027, 12), s_committed());
}

Test(payments, leap_year_february)
{
    s_broker_t b = s_broker_open();
    s_on(2028, 2, 10);
    s_refer(&b, "mission-locale", "ml-1", "Durand", "Léa", "2004-05-06", "Planoise", NONE,
            ACK(ACCEPTED), "C0000001");
    s_accept(&b, "asq-planoise", "C0000001");
    s_to_contract(&b, "asq-planoise", "C0000001", "2028-02-10", NULL);
    s_broker_close(&b);
    /* 2028-02-10 .. 2029-02-09: 20 days of February 2028's 29 (344.83),
     * 9 days of February 2029's 28 (160.71). */
    cr_expect_eq(s_pay(2028, 2).total_cents, 34483);
    cr_expect_eq(s_pay(2028, 3).total_cents, 50000);
    cr_expect_eq(s_pay(2029, 2).total_cents, 16071);
    cr_expect_eq(s_pay_sum(2028, 1, 2029, 12), s_committed());
}

Test(payments, contract_closed_mid_month)
{
    s_scenario();
    s_broker_t b = s_broker_open();
    s_on(2026, 6, 10);
    s_act(&b, "asq-planoise", "C0000001", ACT(CLOSE), 0, OUT(TRAINING), NULL, "2026-06-10", NULL,
          ST(CLOSED));
    s_broker_close(&b);
    /* Ends 2026-06-10: June is 10 days of 30 (166.67); nothing after. */
    cr_expect_eq(s_pay(2026, 6).total_cents, 16667);
    cr_expect_eq(s_pay(2026, 7).total_cents, 0);
    cr_expect_eq(s_pay_sum(2026, 1, 2027, 12), 25806 + 50000 + 50000 + 16667);
    cr_expect_eq(s_pay_sum(2026, 1, 2027, 12), s_committed());

    char *text = NULL, err[256] = "";
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_eq(payments_month(s_data, s_cfg, 2026, 6, out, PAYMENTS_CSV, NULL, err, sizeof err),
                 0, "%s", err);
    fclose(out);
    cr_expect_str_eq(text, "case_id,structure_id,contract_start,contract_end,due_eur\n"
                           "C0000001,asq-planoise,2026-03-16,2026-06-10,166.67\n");
    free(text);
}

Test(payments, parse_month)
{
    int y, m;
    cr_expect_eq(payments_parse_month("2028-02", &y, &m), 0);
    cr_expect_eq(y, 2028);
    cr_expect_eq(m, 2);
    cr_expect_eq(payments_parse_month("2028-13", &y, &m), -1);
    cr_expect_eq(payments_parse_month("2028-2", &y, &m), -1);
    cr_expect_eq(payments_parse_month("2028-02-01", &y, &m), -1);
}

/* ---- notices ------------------------------------------------------------------- */

TestSuite(notice, .init = s_setup, .fini = s_teardown);

static char *s_notice(const char *case_id, const char *partner, const char *ref, int want_rc)
{
    char *text = NULL, err[256] = "";
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out);
    int rc = case_id ? notice_case(s_data, s_cfg, case_id, out, err, sizeof err)
                     : notice_referral(s_data, s_cfg, partner, ref, out, err, sizeof err);
    fclose(out);
    cr_expect_eq(rc, want_rc, "rc %d: %s", rc, err);
    if (rc != 0) { /* the reason, to check what it says */
        free(text);
        text = strdup(err);
    }
    return text;
}

#define APPEAL                                                                                     \
    "recours gracieux auprès du président du CCAS, puis recours contentieux devant le "          \
    "tribunal administratif de Besançon, dans un délai de deux mois à compter de la "           \
    "notification"

Test(notice, declined_by_every_structure)
{
    s_scenario();
    s_broker_t b = s_broker_open();
    s_on(2026, 3, 23);
    s_act(&b, "mdq-palente", "C0000004", ACT(DECLINE), 0, 0, "capacité atteinte", NULL, NULL,
          ST(ROUTED));
    /* Palente: then assoc-insertion, the default asq-centre, the programme
     * team; each hands it back. */
    s_act(&b, "assoc-insertion", "C0000004", ACT(DECLINE), 0, 0, "hors de notre public", NULL, NULL,
          ST(ROUTED));
    s_act(&b, "asq-centre", "C0000004", ACT(DECLINE), 0, 0, "pas de référent disponible", NULL,
          NULL, ST(ROUTED));
    s_act(&b, "ccas-programme", "C0000004", ACT(DECLINE), 0, 0, "aucune solution", NULL, NULL,
          ST(DECLINED));
    s_broker_close(&b);
    char *text = s_notice("C0000004", NULL, NULL, 0);
    cr_expect_not_null(strstr(text, "AVIS DE DÉCISION"), "%s", text);
    cr_expect_not_null(strstr(text, "Dossier : C0000004\n"), "%s", text);
    cr_expect_not_null(strstr(text, "Destinataire : Noah Petit\n"), "%s", text);
    cr_expect_not_null(strstr(text, "Orientation reçue le 2 mars 2026, de la part de : CCAS"), "%s",
                       text);
    cr_expect_not_null(strstr(text, "aucune structure d'accompagnement n'a pu vous accueillir "
                                    "(décision du 23 mars 2026)"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "  - Maison de quartier Palente – Orchamps, le 23 mars 2026 "
                                    ": capacité atteinte\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, ": aucune solution\n"), "%s", text);
    cr_expect_not_null(strstr(text, APPEAL), "%s", text);
    free(text);
    json_t *r = s_report(NULL);
    s_int(r, "declines.declined_by_all", 1);
    s_int(r, "declines.handbacks", 5);
    json_decref(r);
}

Test(notice, ineligible_referral_names_nobody)
{
    s_scenario();
    char *text = s_notice(NULL, "ccas", "cc-1", 0);
    cr_expect_not_null(strstr(text, "Destinataire : la personne orientée par CCAS de Besançon"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "ne peut pas être retenue"), "%s", text);
    cr_expect_not_null(strstr(text, "  - Le programme ne s'adresse pas aux personnes qui "
                                    "perçoivent le RSA.\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, APPEAL), "%s", text);
    cr_expect_null(strstr(text, "Roux"), "%s", text);
    free(text);
    /* A referral that joined a case: that case's notice, if a refusal. */
    text = s_notice(NULL, "ccas", "cc-2", -1);
    cr_expect_not_null(strstr(text, "C0000001 is not a refusal"), "%s", text);
    free(text);
    text = s_notice(NULL, "ccas", "nope", -1);
    cr_expect_not_null(strstr(text, "no referral ccas:nope"), "%s", text);
    free(text);
    text = s_notice("C0000002", NULL, NULL, -1);
    cr_expect_not_null(strstr(text, "not a refusal (state: closed)"), "%s", text);
    free(text);
}

Test(notice, waitlisted_with_its_position)
{
    /* The budget of test_admin's small programme: two places. */
    const char *from = "envelope_eur = 1000000;";
    const char *at = strstr(config_default_text, from);
    cr_assert_not_null(at);
    char *conf = malloc(strlen(config_default_text) + 1);
    cr_assert_not_null(conf);
    sprintf(conf, "%.*senvelope_eur = 12000;%s", (int)(at - config_default_text),
            config_default_text, at + strlen(from));
    char err[256] = "";
    config_free(&s_cfg);
    s_cfg = config_load_string(conf, "small-budget", err, sizeof err);
    free(conf);
    cr_assert_not_null(s_cfg, "%s", err);
    s_broker_t b = s_broker_open();
    s_on(2026, 3, 2);
    s_refer(&b, "mission-locale", "ml-1", "Durand", "Léa", "2004-05-06", "Planoise", NONE,
            ACK(ACCEPTED), "C0000001");
    s_refer(&b, "mission-locale", "ml-2", "Martin", "Yanis", "2005-01-02", "Montrapon", NONE,
            ACK(ACCEPTED), "C0000002");
    s_refer(&b, "rectorat", "re-1", "Bernard", "Inès", "2006-07-08", "Battant", NONE,
            ACK(WAITLISTED), "C0000003");
    s_refer(&b, "rectorat", "re-2", "Petit", "Noah", "2003-11-12", "Palente", NONE, ACK(WAITLISTED),
            "C0000004");
    s_on(2026, 4, 3);
    /* C0000001 ends (closed before a contract): its place goes to the
     * first waitlisted case; C0000004 moves up to position 1. */
    s_accept(&b, "asq-planoise", "C0000001");
    s_act(&b, "asq-planoise", "C0000001", ACT(CLOSE), 0, OUT(MOVED_AWAY), NULL, NULL, NULL,
          ST(CLOSED));
    s_broker_close(&b);
    char *text = s_notice("C0000004", NULL, NULL, 0);
    cr_expect_not_null(strstr(text, "Destinataire : Noah Petit\n"), "%s", text);
    cr_expect_not_null(strstr(text, "liste d'attente"), "%s", text);
    cr_expect_not_null(strstr(text, "en position 2, et sera orientée"), "%s", text);
    cr_expect_not_null(strstr(text, "votre demande est en position 1 sur la liste d'attente"), "%s",
                       text);
    cr_expect_null(strstr(text, "  - 2\n"), "the bare position is not a reason: %s", text);
    cr_expect_not_null(strstr(text, APPEAL), "%s", text);
    free(text);
    /* The waitlist over time: both entered in March, one left in April. */
    json_t *r = s_report(NULL);
    s_int(r, "waitlist.waiting_now", 1);
    s_int(r, "waitlist.by_month[month=2026-03].entered", 2);
    s_int(r, "waitlist.by_month[month=2026-03].waiting_at_end", 2);
    s_int(r, "waitlist.by_month[month=2026-04].left", 1);
    s_int(r, "waitlist.by_month[month=2026-04].waiting_at_end", 1);
    /* C0000003's first routing came out of the waitlist, 32 days on. */
    s_int(r, "delays.referral_to_routing.n", 3);
    s_real(r, "delays.referral_to_routing.p90_days", 32);
    s_int(r, "referrals.by_kind[kind=rectorat].count", 2);
    s_int(r, "budget.by_month[month=2026-03].reserved_cents", 1200000);
    s_int(r, "budget.by_month[month=2026-04].reserved_cents", 1200000);
    json_decref(r);
}
