/*  Programme staff review of possible matches, through the real broker
 *  with a staff key: list, link, separate, unlink, and who may ask. */
#include "harness.h"

#include <criterion/criterion.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static harness_broker_t B;

static void s_teardown(void)
{
    harness_cleanup(&B);
}

TestSuite(review, .fini = s_teardown, .timeout = 120);

#define ENV_FREE(e) relais__v1__envelope__free_unpacked((e), NULL)

static Relais__V1__Envelope *s_staff(relais_client_t *c, Relais__V1__StaffRequest *req, int *rc)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT, *reply = NULL;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_STAFF;
    env.staff = req;
    *rc = relais_client_call(c, &env, &reply);
    cr_assert(reply, "no reply: %s", relais_client_last_error(c));
    return reply;
}

static Relais__V1__Envelope *s_list(relais_client_t *c)
{
    Relais__V1__StaffRequest req = RELAIS__V1__STAFF_REQUEST__INIT;
    Relais__V1__ReviewList l = RELAIS__V1__REVIEW_LIST__INIT;
    req.op_case = RELAIS__V1__STAFF_REQUEST__OP_REVIEW_LIST;
    req.review_list = &l;
    int rc;
    Relais__V1__Envelope *e = s_staff(c, &req, &rc);
    cr_assert_eq(rc, RELAIS_OK);
    cr_assert_eq(e->body_case, RELAIS__V1__ENVELOPE__BODY_STAFF_RESULT);
    cr_assert(e->staff_result->ok);
    return e;
}

static Relais__V1__Envelope *s_decide(relais_client_t *c, Relais__V1__ReviewKind kind,
                                      const char *case_id, const char *to, const char *partner,
                                      const char *ref)
{
    Relais__V1__StaffRequest req = RELAIS__V1__STAFF_REQUEST__INIT;
    Relais__V1__ReviewDecision d = RELAIS__V1__REVIEW_DECISION__INIT;
    d.kind = kind;
    d.case_id = (char *)case_id;
    d.to_case_id = (char *)(to ? to : "");
    d.partner = (char *)(partner ? partner : "");
    d.partner_ref = (char *)(ref ? ref : "");
    req.op_case = RELAIS__V1__STAFF_REQUEST__OP_REVIEW_DECISION;
    req.review_decision = &d;
    int rc;
    Relais__V1__Envelope *e = s_staff(c, &req, &rc);
    cr_assert_eq(rc, RELAIS_OK);
    cr_assert_eq(e->body_case, RELAIS__V1__ENVELOPE__BODY_STAFF_RESULT);
    return e;
}

/* Submits and returns the case id (malloc'd), asserting STATUS. */
static char *s_submit(relais_client_t *c, const char *ref, const char *last, const char *first,
                      const char *birth, const char *ine, Relais__V1__AckStatus status)
{
    harness_ref_t h;
    Relais__V1__Envelope *e;
    harness_ref(&h, ref, last, first, birth, "Centre");
    h.p.ine = (char *)ine;
    Relais__V1__Ack *ack = harness_submit(c, &h, &e);
    cr_assert_eq(ack->status, status, "%s: status %d, expected %d", ref, ack->status, status);
    char *id = strdup(ack->case_id);
    ENV_FREE(e);
    return id;
}

/* The events of PARTNER_REF in C's feed, from the start. */
static size_t s_events(relais_client_t *c, const char *ref, Relais__V1__StatusEvent *out[],
                       size_t max, Relais__V1__Envelope **hold)
{
    cr_assert_eq(relais_client_fetch_events(c, 0, 0, hold), RELAIS_OK);
    size_t n = 0;
    for (size_t i = 0; i < (*hold)->events->n_events && n < max; i++)
        if (strcmp((*hold)->events->events[i]->partner_ref, ref) == 0)
            out[n++] = (*hold)->events->events[i];
    return n;
}

static size_t s_count_events(relais_client_t *c)
{
    Relais__V1__Envelope *e;
    cr_assert_eq(relais_client_fetch_events(c, 0, 0, &e), RELAIS_OK);
    size_t n = e->events->n_events;
    ENV_FREE(e);
    return n;
}

Test(review, link_then_unlink_repairs_both_cases_and_feeds)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *rect = harness_partner(&B, "rectorat");
    relais_client_t *staff = harness_staff(&B, HARNESS_STAFF_ID);
    char *c1 = s_submit(ml, "ML-1", "Moreau", "Camille", "2004-09-01", "123456789AB",
                        RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    char *c2 = s_submit(rect, "RE-2", "MOREAU", "camille", "2004-09-01", "987654321CD",
                        RELAIS__V1__ACK_STATUS__ACK_REVIEW);

    Relais__V1__Envelope *e = s_list(staff);
    cr_assert_eq(e->staff_result->n_reviews, 1);
    Relais__V1__ReviewItem *it = e->staff_result->reviews[0];
    cr_assert_str_eq(it->case_id, c2);
    cr_assert_str_eq(it->candidate_case_id, c1);
    cr_assert_str_eq(it->code, "ine_conflict");
    cr_assert_gt(it->n_evidence, 3);
    cr_assert(it->person && it->candidate);
    cr_assert_str_eq(it->candidate->last_name, "Moreau");
    cr_assert_str_eq(it->referred_by[0], "rectorat");
    ENV_FREE(e);
    size_t ml_events = s_count_events(ml);

    /* Link: the referral is merged into C1, its referrer hears of C1. */
    e = s_decide(staff, RELAIS__V1__REVIEW_KIND__REVIEW_LINK, c2, c1, NULL, NULL);
    cr_assert(e->staff_result->ok, "%s", e->staff_result->error ? e->staff_result->error->code : "");
    cr_assert_str_eq(e->staff_result->case_id, c1);
    ENV_FREE(e);
    e = s_list(staff);
    cr_assert_eq(e->staff_result->n_reviews, 0);
    ENV_FREE(e);
    Relais__V1__StatusEvent *ev[16];
    Relais__V1__Envelope *hold;
    size_t n = s_events(rect, "RE-2", ev, 16, &hold);
    cr_assert_eq(n, 2);
    cr_assert_eq(ev[0]->state, RELAIS__V1__CASE_STATE__CASE_REVIEW);
    cr_assert_str_eq(ev[1]->case_id, c1);
    cr_assert_eq(ev[1]->state, RELAIS__V1__CASE_STATE__CASE_ROUTED);
    ENV_FREE(hold);
    /* Deciding again is refused: C2 is no longer in review. */
    e = s_decide(staff, RELAIS__V1__REVIEW_KIND__REVIEW_SEPARATE, c2, NULL, NULL, NULL);
    cr_assert_not(e->staff_result->ok);
    cr_assert_str_eq(e->staff_result->error->code, "not_in_review");
    ENV_FREE(e);

    /* Unlink the first referral: impossible (it is the case's person). */
    e = s_decide(staff, RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK, c1, NULL, "mission-locale",
                 "ML-1");
    cr_assert_not(e->staff_result->ok);
    ENV_FREE(e);
    /* Unlink the wrong link: RE-2 becomes a case of its own. */
    e = s_decide(staff, RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK, c1, NULL, "rectorat", "RE-2");
    cr_assert(e->staff_result->ok, "%s", e->staff_result->error ? e->staff_result->error->code : "");
    char *c3 = strdup(e->staff_result->case_id);
    cr_assert_str_neq(c3, c1);
    cr_assert_str_neq(c3, c2);
    cr_assert_eq(e->staff_result->state, RELAIS__V1__CASE_STATE__CASE_ROUTED);
    ENV_FREE(e);
    n = s_events(rect, "RE-2", ev, 16, &hold);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(ev[2]->case_id, c1);
    cr_assert_eq(ev[2]->state, RELAIS__V1__CASE_STATE__CASE_DECLINED);
    cr_assert(strstr(ev[2]->detail, "rattachement annulé"));
    cr_assert_str_eq(ev[3]->case_id, c3);
    cr_assert_eq(ev[3]->state, RELAIS__V1__CASE_STATE__CASE_ROUTED);
    ENV_FREE(hold);
    /* The first referrer heard nothing of the link or the unlink. */
    cr_assert_eq(s_count_events(ml), ml_events);
    /* Unlinking twice: the referral is no longer C1's. */
    e = s_decide(staff, RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK, c1, NULL, "rectorat", "RE-2");
    cr_assert_not(e->staff_result->ok);
    cr_assert_str_eq(e->staff_result->error->code, "not_found");
    ENV_FREE(e);
    free(c1);
    free(c2);
    free(c3);
    relais_client_destroy(&staff);
    relais_client_destroy(&rect);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(review, automatic_merge_can_be_unlinked)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *rect = harness_partner(&B, "rectorat");
    relais_client_t *staff = harness_staff(&B, HARNESS_STAFF_ID);
    char *c1 = s_submit(ml, "ML-1", "Moreau", "Camille", "2004-09-01", "",
                        RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    char *c2 = s_submit(rect, "RE-1", "MOREAU", "camille", "2004-09-01", "",
                        RELAIS__V1__ACK_STATUS__ACK_MERGED);
    cr_assert_str_eq(c2, c1);
    Relais__V1__Envelope *e =
        s_decide(staff, RELAIS__V1__REVIEW_KIND__REVIEW_UNLINK, c1, NULL, "rectorat", "RE-1");
    cr_assert(e->staff_result->ok, "%s", e->staff_result->error ? e->staff_result->error->code : "");
    cr_assert_str_neq(e->staff_result->case_id, c1);
    ENV_FREE(e);
    free(c1);
    free(c2);
    relais_client_destroy(&staff);
    relais_client_destroy(&rect);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(review, separate_routes_a_new_case_and_is_not_asked_again)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *rect = harness_partner(&B, "rectorat");
    relais_client_t *staff = harness_staff(&B, HARNESS_STAFF_ID);
    char *c1 = s_submit(ml, "ML-1", "Moreau", "Camille", "2004-09-01", "123456789AB",
                        RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    char *c2 = s_submit(rect, "RE-1", "Durand", "Inès", "2003-06-21", "123456789ab",
                        RELAIS__V1__ACK_STATUS__ACK_REVIEW);
    Relais__V1__Envelope *e =
        s_decide(staff, RELAIS__V1__REVIEW_KIND__REVIEW_SEPARATE, c2, NULL, NULL, NULL);
    cr_assert(e->staff_result->ok, "%s", e->staff_result->error ? e->staff_result->error->code : "");
    cr_assert_str_eq(e->staff_result->case_id, c2);
    cr_assert_eq(e->staff_result->state, RELAIS__V1__CASE_STATE__CASE_ROUTED);
    ENV_FREE(e);
    Relais__V1__StatusEvent *ev[8];
    Relais__V1__Envelope *hold;
    size_t n = s_events(rect, "RE-1", ev, 8, &hold);
    cr_assert_eq(n, 2);
    cr_assert_eq(ev[1]->state, RELAIS__V1__CASE_STATE__CASE_ROUTED);
    cr_assert_str_eq(ev[1]->case_id, c2);
    ENV_FREE(hold);
    /* The same look-alike again: no review, it is the separated person. */
    char *c3 = s_submit(rect, "RE-9", "Durand", "Inès", "2003-06-21", "123456789AB",
                        RELAIS__V1__ACK_STATUS__ACK_MERGED);
    cr_assert_str_eq(c3, c2);
    e = s_list(staff);
    cr_assert_eq(e->staff_result->n_reviews, 0);
    ENV_FREE(e);
    free(c1);
    free(c2);
    free(c3);
    relais_client_destroy(&staff);
    relais_client_destroy(&rect);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

Test(review, only_staff_may_send_staff_requests)
{
    harness_start(&B, NULL);
    relais_client_t *coord = harness_coordinator(&B, "asq-planoise");
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    Relais__V1__StaffRequest req = RELAIS__V1__STAFF_REQUEST__INIT;
    Relais__V1__ReviewList l = RELAIS__V1__REVIEW_LIST__INIT;
    req.op_case = RELAIS__V1__STAFF_REQUEST__OP_REVIEW_LIST;
    req.review_list = &l;
    int rc;
    Relais__V1__Envelope *e = s_staff(coord, &req, &rc);
    cr_assert_eq(rc, RELAIS_EBROKER);
    cr_assert_str_eq(e->error->code, "forbidden");
    ENV_FREE(e);
    e = s_staff(ml, &req, &rc);
    cr_assert_eq(rc, RELAIS_EBROKER);
    cr_assert_str_eq(e->error->code, "forbidden");
    ENV_FREE(e);
    relais_client_destroy(&coord);
    relais_client_destroy(&ml);
    harness_stop(&B);
}

/* Runs relais-admin with ARGS (a shell fragment) against B as staff;
 * returns its exit status and its stdout in *OUT (malloc'd). */
static int s_admin(const char *args, char **out)
{
    char key[400], cmd[2048], path[400];
    harness_key_path(&B, "staff", HARNESS_STAFF_ID, key, sizeof key);
    snprintf(path, sizeof path, "%s/admin.out", B.dir);
    snprintf(cmd, sizeof cmd,
             "'%s' --data '%s' --broker '%s' --as %s --key '%s' --broker-key '%s' %s >'%s' 2>&1",
             RELAIS_ADMIN_BIN, B.data, B.coordinator_ep, HARNESS_STAFF_ID, key, B.broker_public,
             args, path);
    int status = system(cmd);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    *out = strdup(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(review, relais_admin_review_commands_and_explain)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    relais_client_t *rect = harness_partner(&B, "rectorat");
    char *c1 = s_submit(ml, "AD-1", "Moreau", "Camille", "2004-09-01", "123456789AB",
                        RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    char *c2 = s_submit(rect, "AD-2", "MOREAU", "camille", "2004-09-01", "987654321CD",
                        RELAIS__V1__ACK_STATUS__ACK_REVIEW);
    char *out, args[256];
    cr_assert_eq(s_admin("review list", &out), 0, "%s", out);
    cr_assert(strstr(out, c2) && strstr(out, c1) && strstr(out, "ine_conflict"), "%s", out);
    cr_assert(strstr(out, "1 possible match awaiting a decision"), "%s", out);
    free(out);
    /* Who may not: refused, exit status 3 would need a non-staff key; a
     * link without --to is a usage error. */
    snprintf(args, sizeof args, "review link %s", c2);
    cr_assert_eq(s_admin(args, &out), 1, "%s", out);
    free(out);
    snprintf(args, sizeof args, "review link %s --to %s", c2, c1);
    cr_assert_eq(s_admin(args, &out), 0, "%s", out);
    free(out);
    cr_assert_eq(s_admin("review list", &out), 0, "%s", out);
    cr_assert(strstr(out, "0 possible matches awaiting a decision"), "%s", out);
    free(out);
    /* Her twin brother: a new person, and explain says who he was not. */
    char *c3 = s_submit(rect, "AD-3", "Moreau", "Julien", "2004-09-01", NULL,
                        RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    cr_assert_str_neq(c3, c1);
    /* explain reads the decision and its evidence from the store. */
    harness_stop(&B);
    snprintf(args, sizeof args, "explain %s", c3);
    cr_assert_eq(s_admin(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "AD-3: new / another person: given_names_differ"), "%s", out);
    free(out);
    free(c3);
    snprintf(args, sizeof args, "explain %s", c1);
    cr_assert_eq(s_admin(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "AD-1") && strstr(out, "surname"), "%s", out);
    free(out);
    /* Linked, AD-2 now belongs to the first case: its decision (held as
     * possible) is explained there, next to AD-1's. */
    snprintf(args, sizeof args, "--json explain %s", c1);
    cr_assert_eq(s_admin(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "\"partner_ref\":\"AD-2\"") &&
                  strstr(out, "\"verdict\":\"possible\"") && strstr(out, "\"ine\""),
              "%s", out);
    free(out);
    free(c1);
    free(c2);
    relais_client_destroy(&ml);
    relais_client_destroy(&rect);
}

Test(review, erasure_on_request_through_the_broker)
{
    harness_start(&B, NULL);
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    char *c1 = s_submit(ml, "ER-1", "Effacée", "Sofia", "2004-02-02", "",
                        RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    char *out, args[256];
    /* An open case: it is closed first (outcome other, its place freed),
     * then the data erased. */
    snprintf(args, sizeof args, "erase --case %s --reason 'Demande de la personne'", c1);
    cr_assert_eq(s_admin(args, &out), 0, "%s", out);
    free(out);
    relais_client_t *co = harness_coordinator(&B, "asq-centre");
    Relais__V1__Envelope *e;
    cr_assert_eq(relais_client_fetch_cases(co, "asq-centre", 0, 1, &e), RELAIS_OK);
    cr_assert_eq(e->cases->n_cases, 0, "the structure no longer has the case");
    ENV_FREE(e);
    /* Again: already erased, still fine. */
    cr_assert_eq(s_admin(args, &out), 0, "%s", out);
    free(out);
    /* The referrer is told, neutrally; the coordinator no longer sees a
     * name; the same young person referred again is a new case. */
    size_t n = s_count_events(ml);
    cr_assert_eq(relais_client_fetch_events(ml, n - 1, 0, &e), RELAIS_OK);
    cr_assert(strstr(e->events->events[0]->detail, "effac"), "%s", e->events->events[0]->detail);
    ENV_FREE(e);
    char *c2 = s_submit(ml, "ER-2", "Effacée", "Sofia", "2004-02-02", "",
                        RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    cr_assert_str_neq(c2, c1);
    snprintf(args, sizeof args, "audit --case %s", c1);
    harness_stop(&B);
    cr_assert_eq(s_admin(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "erase"), "%s", out);
    free(out);
    free(c1);
    free(c2);
    relais_client_destroy(&co);
    relais_client_destroy(&ml);
}
