/*  Programme rules against the real broker: nobody waits in silence
 *  (reminder, then re-routing of unanswered cases, moving the broker's
 *  clock across restarts), and contracts turning budget places into
 *  commitments that free what they do not use.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static harness_broker_t B;

static void s_teardown(void)
{
    harness_cleanup(&B);
}

#define ENV_FREE(e) relais__v1__envelope__free_unpacked((e), NULL)
#define ST(x) RELAIS__V1__CASE_STATE__CASE_##x

TestSuite(programme, .fini = s_teardown, .timeout = 180);

static void s_restart_on(const char *day)
{
    harness_stop(&B);
    B.now = day;
    harness_restart(&B);
}

static size_t s_event_count(const char *partner, Relais__V1__Envelope **hold)
{
    relais_client_t *c = harness_partner(&B, partner);
    cr_assert_eq(relais_client_fetch_events(c, 0, 0, hold), RELAIS_OK);
    relais_client_destroy(&c);
    return (*hold)->events->n_events;
}

Test(programme, unanswered_case_reminded_at_day_10_rerouted_at_day_30)
{
    harness_start(&B, NULL); /* now: 2026-11-20 */
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, "E-1", "Attente", "Sans", "2004-06-15", "Montrapon");
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert_str_eq(ack->structure_id, "asq-montrapon");
    char *id = strdup(ack->case_id);
    ENV_FREE(e);
    relais_client_destroy(&ml);

    s_restart_on("2026-11-29"); /* 9 days: nothing yet */
    cr_assert_eq(s_event_count("mission-locale", &e), 1);
    ENV_FREE(e);

    s_restart_on("2026-11-30"); /* 10 days: a reminder */
    cr_assert_eq(s_event_count("mission-locale", &e), 2);
    Relais__V1__StatusEvent *ev = e->events->events[1];
    cr_assert_eq(ev->state, ST(ROUTED));
    cr_assert_str_eq(ev->structure_id, "asq-montrapon");
    cr_assert(strstr(ev->detail, "relance"), "detail: %s", ev->detail);
    ENV_FREE(e);
    relais_client_t *mon = harness_coordinator(&B, "asq-montrapon");
    cr_assert_eq(relais_client_fetch_cases(mon, "asq-montrapon", 0, 0, &e), RELAIS_OK);
    cr_assert_str_not_empty(e->cases->cases[0]->reminded_at);
    ENV_FREE(e);
    relais_client_destroy(&mon);
    char *log = harness_log(&B);
    cr_assert(strstr(log, "reminder sent"));
    free(log);

    s_restart_on("2026-12-05"); /* one reminder only */
    cr_assert_eq(s_event_count("mission-locale", &e), 2);
    ENV_FREE(e);

    s_restart_on("2026-12-20"); /* 30 days: re-routed as no_answer */
    cr_assert_eq(s_event_count("mission-locale", &e), 4);
    cr_assert_eq(e->events->events[2]->state, ST(DECLINED));
    cr_assert_str_eq(e->events->events[2]->structure_id, "asq-montrapon");
    cr_assert(strstr(e->events->events[2]->detail, "no_answer"));
    cr_assert_eq(e->events->events[3]->state, ST(ROUTED));
    cr_assert_str_eq(e->events->events[3]->structure_id, "asq-centre");
    ENV_FREE(e);

    s_restart_on("2027-01-19"); /* 30 more days: never back to asq-montrapon */
    cr_assert_eq(s_event_count("mission-locale", &e), 6);
    cr_assert_eq(e->events->events[5]->state, ST(ROUTED));
    cr_assert_str_eq(e->events->events[5]->structure_id, "ccas-programme");
    ENV_FREE(e);
    free(id);
    harness_stop(&B);
}

static Relais__V1__ActionResult *s_act(relais_client_t *c, const char *id,
                                       Relais__V1__ActionKind kind, Relais__V1__CaseState m,
                                       const char *on, const char *end, Relais__V1__Envelope **e)
{
    Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
    a.case_id = (char *)id;
    a.kind = kind;
    a.milestone = m;
    a.on_date = (char *)(on ? on : "");
    a.contract_end = (char *)(end ? end : "");
    if (kind == RELAIS__V1__ACTION_KIND__ACTION_CLOSE)
        a.outcome = RELAIS__V1__OUTCOME__OUTCOME_TRAINING;
    cr_assert_eq(relais_client_act(c, &a, e), RELAIS_OK);
    return (*e)->action_result;
}

static void s_to_plan(relais_client_t *c, const char *id)
{
    Relais__V1__Envelope *e;
    cr_assert(s_act(c, id, RELAIS__V1__ACTION_KIND__ACTION_ACCEPT, 0, NULL, NULL, &e)->ok);
    ENV_FREE(e);
    cr_assert(s_act(c, id, RELAIS__V1__ACTION_KIND__ACTION_MILESTONE, ST(DIAGNOSIS_DONE), NULL,
                    NULL, &e)->ok);
    ENV_FREE(e);
    cr_assert(s_act(c, id, RELAIS__V1__ACTION_KIND__ACTION_MILESTONE, ST(PLAN_AGREED), NULL, NULL,
                    &e)->ok);
    ENV_FREE(e);
}

Test(programme, contracts_commit_what_they_pay_and_free_the_rest)
{
    char *cfg = harness_config_with("envelope_eur = 1000000;", "envelope_eur = 12000;");
    harness_start(&B, cfg); /* two places of 6000 EUR */
    free(cfg);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    harness_ref_t h;
    Relais__V1__Envelope *e;
    char ids[3][16];
    static const char *const names[3] = {"Alpha", "Bravo", "Charlie"};
    for (int i = 0; i < 3; i++) {
        char ref[8];
        snprintf(ref, sizeof ref, "K-%d", i);
        (void)names;
        char last[48], first[24], birth[11];
        harness_person((unsigned)i, last, first, birth);
        harness_ref(&h, ref, last, first, birth, "Planoise");
        Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
        cr_assert_eq(ack->status, i < 2 ? RELAIS__V1__ACK_STATUS__ACK_ACCEPTED
                                         : RELAIS__V1__ACK_STATUS__ACK_WAITLISTED);
        snprintf(ids[i], sizeof ids[i], "%s", ack->case_id);
        ENV_FREE(e);
    }
    relais_client_t *p = harness_coordinator(&B, "asq-planoise");
    relais_client_t *a = harness_coordinator(&B, "assoc-insertion");
    s_to_plan(p, ids[0]);
    s_to_plan(a, ids[1]);

    /* 13 months: refused, nothing changed. */
    Relais__V1__ActionResult *r = s_act(p, ids[0], RELAIS__V1__ACTION_KIND__ACTION_MILESTONE,
                                        ST(CONTRACT_SIGNED), "2026-11-01", "2027-11-01", &e);
    cr_assert_not(r->ok);
    cr_assert_str_eq(r->error->code, "contract_too_long");
    cr_assert_eq(r->state, ST(PLAN_AGREED));
    ENV_FREE(e);
    /* Six months: 3000 EUR committed, 6000 released; 3000 free < a place. */
    r = s_act(p, ids[0], RELAIS__V1__ACTION_KIND__ACTION_MILESTONE, ST(CONTRACT_SIGNED),
              "2026-11-01", "2027-04-30", &e);
    cr_assert(r->ok, "%s", r->error ? r->error->code : "");
    ENV_FREE(e);
    cr_assert_eq(s_event_count("mission-locale", &e), 3 + 6 + 1, "no routing of the waitlisted yet");
    ENV_FREE(e);
    /* Three months (1500): committed 4500, reserved 0: a place is free. */
    r = s_act(a, ids[1], RELAIS__V1__ACTION_KIND__ACTION_MILESTONE, ST(CONTRACT_SIGNED),
              "2026-11-01", "2027-01-31", &e);
    cr_assert(r->ok);
    ENV_FREE(e);
    s_event_count("mission-locale", &e);
    Relais__V1__Events *ev = e->events;
    Relais__V1__StatusEvent *last = ev->events[ev->n_events - 1];
    cr_assert_str_eq(last->case_id, ids[2]);
    cr_assert_eq(last->state, ST(ROUTED));
    ENV_FREE(e);
    /* Closing before the contract's start is refused. */
    r = s_act(p, ids[0], RELAIS__V1__ACTION_KIND__ACTION_CLOSE, 0, "2026-10-31", NULL, &e);
    cr_assert_not(r->ok);
    cr_assert_str_eq(r->error->code, "bad_date");
    ENV_FREE(e);
    r = s_act(p, ids[0], RELAIS__V1__ACTION_KIND__ACTION_CLOSE, 0, "2026-11-15", NULL, &e);
    cr_assert(r->ok);
    ENV_FREE(e);
    relais_client_destroy(&ml);
    relais_client_destroy(&p);
    relais_client_destroy(&a);
    harness_stop(&B);
}

typedef struct {
    harness_broker_t *b;
    const char *partner;
    int first, count;
    int accepted, waitlisted;
} s_burst_t;

static void *s_burst(void *arg)
{
    s_burst_t *w = arg;
    relais_client_t *c = harness_partner(w->b, w->partner);
    for (int i = w->first; i < w->first + w->count; i++) {
        char ref[16], last[48], first[24], birth[11];
        snprintf(ref, sizeof ref, "CC-%d", i);
        harness_person((unsigned)i, last, first, birth);
        harness_ref_t h;
        harness_ref(&h, ref, last, first, birth, "Battant");
        Relais__V1__Envelope *e;
        if (relais_client_submit(c, &h.r, &e) != RELAIS_OK)
            continue;
        if (e->ack->status == RELAIS__V1__ACK_STATUS__ACK_ACCEPTED)
            w->accepted++;
        else if (e->ack->status == RELAIS__V1__ACK_STATUS__ACK_WAITLISTED)
            w->waitlisted++;
        ENV_FREE(e);
    }
    relais_client_destroy(&c);
    return NULL;
}

Test(programme, concurrent_submissions_never_exceed_the_envelope)
{
    /* Ten places; four partners submit 8 distinct young people each at the
     * same time: exactly ten are routed, the other 22 waitlisted. */
    char *cfg = harness_config_with("envelope_eur = 1000000;", "envelope_eur = 60000;");
    harness_start(&B, cfg);
    free(cfg);
    static const char *const partners[4] = {"mission-locale", "ccas", "rectorat", "addsea"};
    s_burst_t w[4];
    pthread_t t[4];
    for (int k = 0; k < 4; k++) {
        w[k] = (s_burst_t){&B, partners[k], k * 8, 8, 0, 0};
        pthread_create(&t[k], NULL, s_burst, &w[k]);
    }
    int accepted = 0, waitlisted = 0;
    for (int k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        accepted += w[k].accepted;
        waitlisted += w[k].waitlisted;
    }
    cr_assert_eq(accepted, 10, "routed: %d", accepted);
    cr_assert_eq(waitlisted, 22, "waitlisted: %d", waitlisted);
    harness_stop(&B);
    /* And the store agrees. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' --config '%s' verify >/dev/null 2>&1",
             RELAIS_ADMIN_BIN, B.data, B.config);
    cr_assert_eq(system(cmd), 0, "relais-admin verify found problems");
}

Test(programme, a_final_decline_frees_the_place_for_the_first_waitlisted)
{
    char *cfg = harness_config_with("envelope_eur = 1000000;", "envelope_eur = 6000;");
    harness_start(&B, cfg); /* one place */
    free(cfg);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *rect = harness_partner(&B, "rectorat");
    char last[48], first[24], birth[11];
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_person(1, last, first, birth);
    harness_ref(&h, "FD-1", last, first, birth, "Montrapon");
    Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    char a[16];
    snprintf(a, sizeof a, "%s", ack->case_id);
    ENV_FREE(e);
    harness_person(2, last, first, birth);
    harness_ref(&h, "FD-2", last, first, birth, "Battant");
    ack = harness_submit(rect, &h, &e);
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_WAITLISTED);
    ENV_FREE(e);
    /* Declined by its structure, the default one, then the programme team:
     * a re-routing keeps the place; the final decline frees it. */
    static const char *const chain[3] = {"asq-montrapon", "asq-centre", "ccas-programme"};
    for (int i = 0; i < 3; i++) {
        relais_client_t *c = harness_coordinator(&B, chain[i]);
        Relais__V1__ActionResult *r = harness_act(c, a, RELAIS__V1__ACTION_KIND__ACTION_DECLINE,
                                                  0, 0, "Pas de solution ici", &e);
        cr_assert(r->ok, "%s", chain[i]);
        ENV_FREE(e);
        relais_client_destroy(&c);
        cr_assert_eq(s_event_count("rectorat", &e), i < 2 ? 1u : 2u, "after %s", chain[i]);
        if (i == 2) {
            Relais__V1__StatusEvent *last_ev = e->events->events[1];
            cr_assert_eq(last_ev->state, ST(ROUTED));
            cr_assert_str_eq(last_ev->structure_id, "mdq-battant");
        }
        ENV_FREE(e);
    }
    relais_client_destroy(&ml);
    relais_client_destroy(&rect);
    harness_stop(&B);
}
