/*  Coordinators and the closed loop, against the real broker: accept,
 *  decline and re-route, milestones, close, refused actions, the
 *  referrer's feed, the budget waitlist, possible matches, restart, and the
 *  privacy of the log.
 */
#define _GNU_SOURCE /* memmem */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static harness_broker_t B;

static void s_teardown(void)
{
    harness_cleanup(&B);
}

#define ENV_FREE(e) relais__v1__envelope__free_unpacked((e), NULL)
#define ACCEPT RELAIS__V1__ACTION_KIND__ACTION_ACCEPT
#define DECLINE RELAIS__V1__ACTION_KIND__ACTION_DECLINE
#define MILESTONE RELAIS__V1__ACTION_KIND__ACTION_MILESTONE
#define CLOSE RELAIS__V1__ACTION_KIND__ACTION_CLOSE
#define ST(x) RELAIS__V1__CASE_STATE__CASE_##x
#define NO_OUTCOME RELAIS__V1__OUTCOME__OUTCOME_UNSPECIFIED

TestSuite(cases, .fini = s_teardown, .timeout = 120);

static char *s_submit_case(relais_client_t *c, const char *ref, const char *last,
                           const char *first, const char *quartier, const char *structure)
{
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, ref, last, first, "2004-06-15", quartier);
    Relais__V1__Ack *ack = harness_submit(c, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED, "%s", ref);
    if (structure)
        cr_assert_str_eq(ack->structure_id, structure);
    char *id = strdup(ack->case_id);
    ENV_FREE(e);
    return id;
}

static void s_expect(Relais__V1__ActionResult *r, int ok, int state, const char *code)
{
    cr_assert_eq(r->ok, ok, "ok=%d, expected %d (%s)", r->ok, ok,
                 r->error ? r->error->code : "");
    cr_assert_eq(r->state, state, "state %d, expected %d", r->state, state);
    if (code) {
        cr_assert(r->error);
        cr_assert_str_eq(r->error->code, code);
    }
}

Test(cases, lifecycle_with_refusals_and_the_referrer_feed_in_order)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *planoise = harness_coordinator(&B, "asq-planoise");
    relais_client_t *assoc = harness_coordinator(&B, "assoc-insertion");
    relais_client_t *centre = harness_coordinator(&B, "asq-centre");
    Relais__V1__Envelope *e;
    char *id = s_submit_case(ml, "L-1", "Haddad", "Samir", "Planoise", "asq-planoise");

    /* Out of order before acceptance. */
    s_expect(harness_act(planoise, id, MILESTONE, ST(DIAGNOSIS_DONE), NO_OUTCOME, NULL, &e), 0,
             ST(ROUTED), "out_of_order");
    ENV_FREE(e);
    s_expect(harness_act(planoise, id, CLOSE, 0, RELAIS__V1__OUTCOME__OUTCOME_TRAINING, NULL, &e),
             0, ST(ROUTED), "out_of_order");
    ENV_FREE(e);
    /* Another structure cannot touch it: its key opens no door to this
     * case (Error "forbidden", not an answer about the case). */
    {
        Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
        a.case_id = id;
        a.kind = ACCEPT;
        cr_assert_eq(relais_client_act(centre, &a, &e), RELAIS_EBROKER);
        cr_assert_eq(e->body_case, RELAIS__V1__ENVELOPE__BODY_ERROR);
        cr_assert_str_eq(e->error->code, "forbidden");
        ENV_FREE(e);
    }
    /* A decline needs a reason. */
    s_expect(harness_act(planoise, id, DECLINE, 0, NO_OUTCOME, "  ", &e), 0, ST(ROUTED),
             "missing_reason");
    ENV_FREE(e);
    s_expect(harness_act(planoise, "C9999999", ACCEPT, 0, NO_OUTCOME, NULL, &e), 0, 0,
             "not_found");
    ENV_FREE(e);

    /* Declined by Planoise's ASQ: re-routed to the other Planoise structure. */
    s_expect(harness_act(planoise, id, DECLINE, 0, NO_OUTCOME, "Plus de place cette semaine", &e),
             1, ST(ROUTED), NULL);
    ENV_FREE(e);
    Relais__V1__Envelope *ce;
    relais_client_fetch_cases(planoise, "asq-planoise", 0, 1, &ce);
    cr_assert_eq(ce->cases->n_cases, 0, "the decliner no longer sees it");
    ENV_FREE(ce);
    relais_client_fetch_cases(assoc, "assoc-insertion", 0, 0, &ce);
    cr_assert_eq(ce->cases->n_cases, 1);
    cr_assert_str_eq(ce->cases->cases[0]->case_id, id);
    ENV_FREE(ce);
    /* Fetched again until answered. */
    relais_client_fetch_cases(assoc, "assoc-insertion", 0, 0, &ce);
    cr_assert_eq(ce->cases->n_cases, 1);
    ENV_FREE(ce);

    s_expect(harness_act(assoc, id, ACCEPT, 0, NO_OUTCOME, NULL, &e), 1, ST(ACCEPTED), NULL);
    ENV_FREE(e);
    s_expect(harness_act(assoc, id, ACCEPT, 0, NO_OUTCOME, NULL, &e), 0, ST(ACCEPTED),
             "out_of_order");
    ENV_FREE(e);
    /* Milestones in order only. */
    s_expect(harness_act(assoc, id, MILESTONE, ST(PLAN_AGREED), NO_OUTCOME, NULL, &e), 0,
             ST(ACCEPTED), "out_of_order");
    ENV_FREE(e);
    s_expect(harness_act(assoc, id, MILESTONE, ST(CLOSED), NO_OUTCOME, NULL, &e), 0,
             ST(ACCEPTED), "bad_milestone");
    ENV_FREE(e);
    s_expect(harness_act(assoc, id, MILESTONE, ST(DIAGNOSIS_DONE), NO_OUTCOME, NULL, &e), 1,
             ST(DIAGNOSIS_DONE), NULL);
    ENV_FREE(e);
    s_expect(harness_act(assoc, id, MILESTONE, ST(PLAN_AGREED), NO_OUTCOME, NULL, &e), 1,
             ST(PLAN_AGREED), NULL);
    ENV_FREE(e);
    s_expect(harness_act(assoc, id, MILESTONE, ST(CONTRACT_SIGNED), NO_OUTCOME, NULL, &e), 1,
             ST(CONTRACT_SIGNED), NULL);
    ENV_FREE(e);
    /* Accepted cases are listed with include_open only. */
    relais_client_fetch_cases(assoc, "assoc-insertion", 0, 0, &ce);
    cr_assert_eq(ce->cases->n_cases, 0);
    ENV_FREE(ce);
    relais_client_fetch_cases(assoc, "assoc-insertion", 0, 1, &ce);
    cr_assert_eq(ce->cases->n_cases, 1);
    cr_assert_eq(ce->cases->cases[0]->state, ST(CONTRACT_SIGNED));
    ENV_FREE(ce);

    s_expect(harness_act(assoc, id, CLOSE, 0, NO_OUTCOME, NULL, &e), 0, ST(CONTRACT_SIGNED),
             "missing_outcome");
    ENV_FREE(e);
    s_expect(harness_act(assoc, id, CLOSE, 0, RELAIS__V1__OUTCOME__OUTCOME_EMPLOYMENT, NULL, &e),
             1, ST(CLOSED), NULL);
    ENV_FREE(e);
    s_expect(harness_act(assoc, id, CLOSE, 0, RELAIS__V1__OUTCOME__OUTCOME_EMPLOYMENT, NULL, &e),
             0, ST(CLOSED), "already_closed");
    ENV_FREE(e);

    /* The referrer saw every step, in order, with contiguous seqs. */
    relais_client_fetch_events(ml, 0, 0, &e);
    Relais__V1__Events *ev = e->events;
    static const int expected[] = {ST(ROUTED),         ST(DECLINED),    ST(ROUTED),
                                   ST(ACCEPTED),       ST(DIAGNOSIS_DONE), ST(PLAN_AGREED),
                                   ST(CONTRACT_SIGNED), ST(CLOSED)};
    cr_assert_eq(ev->n_events, 8);
    for (size_t i = 0; i < 8; i++) {
        cr_assert_eq(ev->events[i]->seq, i + 1);
        cr_assert_eq(ev->events[i]->state, expected[i], "event %zu", i);
        cr_assert_str_eq(ev->events[i]->case_id, id);
        cr_assert_str_eq(ev->events[i]->partner_ref, "L-1");
        cr_assert_str_not_empty(ev->events[i]->at);
    }
    cr_assert_str_eq(ev->events[0]->structure_id, "asq-planoise");
    cr_assert_str_eq(ev->events[1]->structure_id, "asq-planoise");
    cr_assert_str_eq(ev->events[1]->detail, "Plus de place cette semaine");
    cr_assert_str_eq(ev->events[2]->structure_id, "assoc-insertion");
    cr_assert_eq(ev->events[7]->outcome, RELAIS__V1__OUTCOME__OUTCOME_EMPLOYMENT);
    ENV_FREE(e);
    /* after_seq pages. */
    relais_client_fetch_events(ml, 6, 0, &e);
    cr_assert_eq(e->events->n_events, 2);
    cr_assert_eq(e->events->events[0]->seq, 7);
    ENV_FREE(e);
    relais_client_fetch_events(ml, 0, 3, &e);
    cr_assert_eq(e->events->n_events, 3);
    ENV_FREE(e);

    free(id);
    relais_client_destroy(&ml);
    relais_client_destroy(&planoise);
    relais_client_destroy(&assoc);
    relais_client_destroy(&centre);
    harness_stop(&B);
}

Test(cases, declined_everywhere_goes_to_the_programme_team_then_declined)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    Relais__V1__Envelope *e;
    char *id = s_submit_case(ml, "D-1", "Petit", "Jules", "Montrapon", "asq-montrapon");
    /* asq-montrapon serves Montrapon; then the default asq-centre; then the
     * programme team; never back to a structure that declined. */
    static const char *const chain[] = {"asq-montrapon", "asq-centre", "ccas-programme"};
    for (size_t i = 0; i < 3; i++) {
        relais_client_t *c = harness_coordinator(&B, chain[i]);
        Relais__V1__ActionResult *r = harness_act(c, id, DECLINE, 0, NO_OUTCOME, "Refus", &e);
        cr_assert(r->ok, "%s", chain[i]);
        cr_assert_eq(r->state, i < 2 ? ST(ROUTED) : ST(DECLINED), "after %s", chain[i]);
        ENV_FREE(e);
        if (i < 2) {
            relais_client_t *next = harness_coordinator(&B, chain[i + 1]);
            relais_client_fetch_cases(next, chain[i + 1], 0, 0, &e);
            cr_assert_eq(e->cases->n_cases, 1, "%s has it", chain[i + 1]);
            ENV_FREE(e);
            relais_client_destroy(&next);
        }
        relais_client_destroy(&c);
    }
    relais_client_fetch_events(ml, 0, 0, &e);
    Relais__V1__Events *ev = e->events;
    cr_assert_eq(ev->events[ev->n_events - 1]->state, ST(DECLINED));
    ENV_FREE(e);
    /* The person has no open case any more: a new referral opens a new one. */
    char *again = s_submit_case(ml, "D-2", "Petit", "Jules", "Montrapon", NULL);
    cr_assert_str_neq(again, id);
    free(again);
    free(id);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(cases, budget_full_waitlists_and_a_close_routes_the_first_waiting)
{
    /* Two places of 6000 EUR. */
    char *cfg = harness_config_with("envelope_eur = 1000000;", "envelope_eur = 12000;");
    harness_start(&B, cfg);
    free(cfg);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *rect = harness_partner(&B, "rectorat");
    Relais__V1__Envelope *e;
    char *a = s_submit_case(ml, "W-1", "Un", "Premier", "Planoise", "asq-planoise");
    char *b = s_submit_case(ml, "W-2", "Deux", "Second", "Planoise", NULL);
    harness_ref_t h;
    harness_ref(&h, "R-3", "Trois", "Troisième", "2004-06-15", "Battant");
    Relais__V1__Ack *ack = harness_submit(rect, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_WAITLISTED);
    cr_assert_str_not_empty(ack->case_id);
    cr_assert_str_empty(ack->structure_id);
    int pos = 0;
    for (size_t i = 0; i < ack->n_reasons; i++)
        if (strcmp(ack->reasons[i]->code, "waitlist_position") == 0)
            pos = atoi(ack->reasons[i]->message);
    cr_assert_eq(pos, 1);
    char *c = strdup(ack->case_id);
    ENV_FREE(e);
    harness_ref(&h, "R-4", "Quatre", "Quatrième", "2004-06-15", "Battant");
    ack = harness_submit(rect, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_WAITLISTED);
    ENV_FREE(e);

    /* Closing A frees a place: C (first waiting) is routed, not D. */
    relais_client_t *planoise = harness_coordinator(&B, "asq-planoise");
    harness_act(planoise, a, ACCEPT, 0, NO_OUTCOME, NULL, &e);
    ENV_FREE(e);
    Relais__V1__ActionResult *r =
        harness_act(planoise, a, CLOSE, 0, RELAIS__V1__OUTCOME__OUTCOME_MOVED_AWAY, NULL, &e);
    cr_assert(r->ok);
    ENV_FREE(e);
    relais_client_fetch_events(rect, 0, 0, &e);
    Relais__V1__Events *ev = e->events;
    cr_assert_eq(ev->n_events, 3, "C waitlisted, D waitlisted, C routed");
    cr_assert_eq(ev->events[0]->state, ST(WAITLISTED));
    cr_assert_eq(ev->events[2]->state, ST(ROUTED));
    cr_assert_str_eq(ev->events[2]->case_id, c);
    cr_assert_str_eq(ev->events[2]->structure_id, "mdq-battant");
    ENV_FREE(e);
    free(a);
    free(b);
    free(c);
    relais_client_destroy(&ml);
    relais_client_destroy(&rect);
    relais_client_destroy(&planoise);
    harness_stop(&B);
}

Test(cases, conflicting_identity_evidence_is_held_for_review)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *rect = harness_partner(&B, "rectorat");
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, "RV-1", "Moreau", "Camille", "2004-09-01", "Centre");
    h.p.ine = "123456789AB";
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    ENV_FREE(e);
    /* Same INE, but nothing else agrees: a human decides. */
    harness_ref(&h, "RE-1", "Durand", "Inès", "2003-06-21", "Centre");
    h.p.ine = "123456789ab";
    ack = harness_submit(rect, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_REVIEW);
    cr_assert_eq(ack->n_reasons, 1);
    cr_assert_str_eq(ack->reasons[0]->code, "same_ine");
    cr_assert_str_not_empty(ack->case_id);
    ENV_FREE(e);
    /* Same INE with a typo in each name and day/month swapped: with scored
     * matching that is overwhelming evidence of the same person (the
     * exact-key matcher could only send it to review). */
    harness_ref(&h, "RE-0", "Morel", "Camil", "2004-01-09", "Centre");
    h.p.ine = "123456789ab";
    ack = harness_submit(rect, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_MERGED);
    ENV_FREE(e);
    /* Same name and birth date, another INE. */
    harness_ref(&h, "RE-2", "MOREAU", "camille", "2004-09-01", "Centre");
    h.p.ine = "987654321CD";
    ack = harness_submit(rect, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_REVIEW);
    cr_assert_str_eq(ack->reasons[0]->code, "ine_conflict");
    ENV_FREE(e);
    /* Same name and birth date, no INE: merged. */
    harness_ref(&h, "RE-3", "MOREAU", "camille", "2004-09-01", "Centre");
    ack = harness_submit(rect, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_MERGED);
    ENV_FREE(e);
    relais_client_destroy(&ml);
    relais_client_destroy(&rect);
    harness_stop(&B);
}

Test(cases, restart_keeps_cases_queues_feeds_and_idempotency)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *planoise = harness_coordinator(&B, "asq-planoise");
    Relais__V1__Envelope *e;
    char *a = s_submit_case(ml, "S-1", "Lopes", "Rui", "Planoise", "asq-planoise");
    char *b = s_submit_case(ml, "S-2", "Ozturk", "Elif", "Montrapon", "asq-montrapon");
    harness_act(planoise, a, ACCEPT, 0, NO_OUTCOME, NULL, &e);
    ENV_FREE(e);
    relais_client_destroy(&ml);
    relais_client_destroy(&planoise);

    harness_stop(&B);
    harness_restart(&B);

    ml = harness_partner(&B, "mission-locale");
    planoise = harness_coordinator(&B, "asq-planoise");
    relais_client_t *montrapon = harness_coordinator(&B, "asq-montrapon");
    harness_ref_t h;
    harness_ref(&h, "S-1", "Lopes", "Rui", "2004-06-15", "Planoise");
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert(ack->replay);
    cr_assert_str_eq(ack->case_id, a);
    ENV_FREE(e);
    relais_client_fetch_cases(montrapon, "asq-montrapon", 0, 0, &e);
    cr_assert_eq(e->cases->n_cases, 1);
    cr_assert_str_eq(e->cases->cases[0]->case_id, b);
    ENV_FREE(e);
    relais_client_fetch_cases(planoise, "asq-planoise", 0, 1, &e);
    cr_assert_eq(e->cases->n_cases, 1);
    cr_assert_eq(e->cases->cases[0]->state, ST(ACCEPTED));
    ENV_FREE(e);
    relais_client_fetch_events(ml, 0, 0, &e);
    cr_assert_eq(e->events->n_events, 3);
    ENV_FREE(e);
    /* New ids continue after the old ones; seqs too. */
    char *c = s_submit_case(ml, "S-3", "Nguyen", "Anh", "Centre", "asq-centre");
    cr_assert_str_eq(c, "C0000003");
    relais_client_fetch_events(ml, 3, 0, &e);
    cr_assert_eq(e->events->n_events, 1);
    cr_assert_eq(e->events->events[0]->seq, 4);
    ENV_FREE(e);
    /* And after a SIGKILL too. */
    harness_kill(&B);
    harness_restart(&B);
    relais_client_destroy(&ml);
    ml = harness_partner(&B, "mission-locale");
    relais_client_fetch_events(ml, 0, 0, &e);
    cr_assert_eq(e->events->n_events, 4);
    ENV_FREE(e);
    free(a);
    free(b);
    free(c);
    relais_client_destroy(&ml);
    relais_client_destroy(&planoise);
    relais_client_destroy(&montrapon);
    harness_stop(&B);
}

Test(cases, the_log_holds_no_personal_data)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, "P-1", "Zarkowskaïa", "Ludmilla", "2003-03-17", "Planoise");
    h.p.phone = "06 12 34 56 78";
    h.p.email = "ludmilla.z@example.org";
    h.r.notes = "Hébergée chez une tante";
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    char *id = strdup(ack->case_id);
    ENV_FREE(e);
    harness_ref(&h, "P-2", "Zarkowskaïa", "Ludmilla", "2003-03-17", "Planoise");
    harness_submit(ml, &h, &e); /* merged */
    ENV_FREE(e);
    relais_client_t *c = harness_coordinator(&B, "asq-planoise");
    relais_client_fetch_cases(c, "asq-planoise", 0, 0, &e);
    cr_assert_str_eq(e->cases->cases[0]->person->email, "ludmilla.z@example.org");
    ENV_FREE(e);
    harness_act(c, id, DECLINE, 0, NO_OUTCOME, "Suivi ailleurs", &e);
    ENV_FREE(e);
    relais_client_destroy(&c);
    relais_client_destroy(&ml);
    harness_stop(&B);
    char *log = harness_log(&B);
    cr_assert(strstr(log, "P-1"), "the log does record the referral ids");
    static const char *const secrets[] = {"Zarkowska", "Ludmilla", "2003-03-17", "06 12 34",
                                          "example.org", "tante"};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        cr_assert_null(strstr(log, secrets[i]), "'%s' found in the broker log", secrets[i]);
    free(log);
    /* Nor the data files, byte for byte (sealed at rest); the scan does
     * find what is stored in clear, such as partner ids. */
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    static const char *const folded[] = {"zarkowska", "ludmilla", "0612345678", "2003-03-17"};
    for (size_t f = 0; f < 2; f++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", B.data, files[f]);
        FILE *fp = fopen(path, "rb");
        cr_assert(fp, "%s", path);
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        char *bytes = malloc((size_t)n + 1);
        cr_assert(bytes && fread(bytes, 1, (size_t)n, fp) == (size_t)n);
        fclose(fp);
        if (f == 0)
            cr_assert(memmem(bytes, (size_t)n, "mission-locale", 14), "the scan sees clear text");
        for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
            cr_assert_null(memmem(bytes, (size_t)n, secrets[i], strlen(secrets[i])),
                           "'%s' in clear in %s", secrets[i], files[f]);
        for (size_t i = 0; i < sizeof folded / sizeof *folded; i++)
            cr_assert_null(memmem(bytes, (size_t)n, folded[i], strlen(folded[i])),
                           "'%s' in clear in %s", folded[i], files[f]);
        free(bytes);
    }
    free(id);
}
