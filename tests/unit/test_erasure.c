/*  test_erasure — retention purge and erasure on request (broker/erasure.c)
 *  on a real LMDB store, built through the real request path
 *  (service_handle), as test_admin does; plus the raw-bytes scan of the
 *  store: no name, birth date, phone or e-mail in clear.
 */
#define _GNU_SOURCE /* nftw, memmem */

#include "clock.h"
#include "config.h"
#include "date.h"
#include "erasure.h"
#include "feed.h"
#include "identity.h"
#include "log.h"
#include "persons.h"
#include "relais.pb-c.h"
#include "relais_store.pb-c.h"
#include "service.h"
#include "store.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_SIZE (64u << 20)
#define ST(x)  RELAIS__V1__CASE_STATE__CASE_##x
#define ACT(x) RELAIS__V1__ACTION_KIND__ACTION_##x

static char s_dir[64], s_data[128];
static config_t *s_cfg;
static store_t *s_store;
static service_t *s_service;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int64_t s_day(int y, int m, int d)
{
    date_t dt = {y, m, d};
    return date_to_days(dt) * 86400 + 12 * 3600;
}

static void s_setup(void)
{
    char err[256] = "";
    log_set_level(LOG_WARN);
    strcpy(s_dir, "/tmp/relais-test-erasure-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    clock_set(s_day(2026, 3, 2));
    cr_assert_not_null(s_cfg = config_load_default(err, sizeof err), "%s", err);
    cr_assert_not_null(s_store = store_open(s_data, MAP_SIZE, false, err, sizeof err), "%s", err);
    cr_assert_eq(identity_init(s_data, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(s_service = service_new(s_cfg, err, sizeof err), "%s", err);
}

static void s_teardown(void)
{
    service_destroy(&s_service);
    store_close(&s_store);
    identity_shutdown();
    config_free(&s_cfg);
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static Relais__V1__Envelope *s_request(service_endpoint_t ep, Relais__V1__Envelope *env)
{
    store_txn_t batch;
    size_t len = relais__v1__envelope__get_packed_size(env), reply_len = 0;
    uint8_t *frame = malloc(len ? len : 1), *reply = NULL;
    relais__v1__envelope__pack(env, frame);
    cr_assert_eq(store_begin(s_store, true, NULL, &batch), 0);
    cr_assert_eq(service_handle(s_service, &batch, ep, frame, len, true, &reply, &reply_len, NULL),
                 0);
    cr_assert_eq(store_commit(&batch), 0);
    free(frame);
    Relais__V1__Envelope *out = relais__v1__envelope__unpack(NULL, reply_len, reply);
    free(reply);
    cr_assert_not_null(out);
    return out;
}

/* Refers a young person; returns the case id (static buffer). */
static const char *s_refer(const char *partner, const char *ref, const char *last,
                           const char *first, const char *born)
{
    static char case_id[32];
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__Referral r = RELAIS__V1__REFERRAL__INIT;
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    Relais__V1__Benefit none = RELAIS__V1__BENEFIT__BENEFIT_NONE;
    p.last_name = (char *)last;
    p.first_names = (char *)first;
    p.birth_date = (char *)born;
    p.phone = "06 12 34 56 78";
    p.email = "ludmilla.zarkowskaia@example.org";
    p.quartier = "Planoise";
    r.partner_ref = (char *)ref;
    r.person = &p;
    r.benefits = &none;
    r.n_benefits = 1;
    r.consent = 1;
    r.notes = "Suivie par Mme Zarkowskaïa depuis janvier";
    r.referrer_name = "Odile Quenouillère";
    r.referrer_email = "odile.quenouillere@ml.example";
    env.version = 1;
    env.request_id = (char *)ref;
    env.sender = (char *)partner;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    env.referral = &r;
    Relais__V1__Envelope *reply = s_request(SERVICE_PARTNER, &env);
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ACK);
    cr_assert(*reply->ack->case_id, "%s: no case (status %d)", ref, reply->ack->status);
    snprintf(case_id, sizeof case_id, "%s", reply->ack->case_id);
    relais__v1__envelope__free_unpacked(reply, NULL);
    return case_id;
}

/* The case's structure accepts then closes it. */
static void s_close(const char *case_id)
{
    store_txn_t t;
    Relais__Store__CaseRecord *c;
    cr_assert_eq(store_begin(s_store, false, NULL, &t), 0);
    cr_assert_eq(store_get_msg(&t, STORE_CASES, case_id, strlen(case_id),
                               &relais__store__case_record__descriptor, (ProtobufCMessage **)&c),
                 0);
    char structure[64];
    snprintf(structure, sizeof structure, "%s", c->structure_id);
    relais__store__case_record__free_unpacked(c, NULL);
    store_abort(&t);
    Relais__V1__ActionKind kinds[] = {ACT(ACCEPT), ACT(CLOSE)};
    for (int i = 0; i < 2; i++) {
        Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
        Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
        a.case_id = (char *)case_id;
        a.kind = kinds[i];
        a.outcome = RELAIS__V1__OUTCOME__OUTCOME_TRAINING;
        env.version = 1;
        env.request_id = "act";
        env.sender = structure;
        env.body_case = RELAIS__V1__ENVELOPE__BODY_CASE_ACTION;
        env.case_action = &a;
        Relais__V1__Envelope *reply = s_request(SERVICE_COORDINATOR, &env);
        cr_assert(reply->action_result && reply->action_result->ok, "action %d on %s refused", i,
                  case_id);
        relais__v1__envelope__free_unpacked(reply, NULL);
    }
}

static Relais__Store__CaseRecord *s_case(const char *case_id)
{
    store_txn_t t;
    Relais__Store__CaseRecord *c;
    cr_assert_eq(store_begin(s_store, false, NULL, &t), 0);
    cr_assert_eq(store_get_msg(&t, STORE_CASES, case_id, strlen(case_id),
                               &relais__store__case_record__descriptor, (ProtobufCMessage **)&c),
                 0);
    store_abort(&t);
    return c;
}

/* Person of CASE_ID still has its data? */
static bool s_has_person(const char *case_id)
{
    Relais__Store__CaseRecord *c = s_case(case_id);
    store_txn_t t;
    Relais__Store__PersonRecord *p;
    cr_assert_eq(store_begin(s_store, false, NULL, &t), 0);
    cr_assert_eq(persons_get(&t, c->person_id, &p), 0);
    bool has = p->person != NULL;
    relais__store__person_record__free_unpacked(p, NULL);
    relais__store__case_record__free_unpacked(c, NULL);
    store_abort(&t);
    return has;
}

/* Does FILE contain NEEDLE anywhere in its bytes? */
static bool s_file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    bool found = memmem(buf, got, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

TestSuite(erasure, .init = s_setup, .fini = s_teardown);

Test(erasure, store_files_hold_no_personal_data_in_clear)
{
    s_refer("mission-locale", "ml-1", "Zarkowskaïa", "Ludmilla", "2003-03-17");
    s_close(s_refer("ccas", "cc-1", "Quenouillère", "Bartholomé", "2004-08-29"));
    store_sync(s_store);
    static const char *const secrets[] = {
        "Zarkowsk", "zarkowsk", "ZARKOWSK", "Ludmilla", "ludmilla", "LUDMILLA", "2003-03-17",
        "20030317", "06 12 34 56 78", "0612345678", "612345678", "example.org", "Quenouill",
        "quenouill", "Bartholom", "bartholom", "2004-08-29", "depuis janvier", "ml.example"};
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char mdb[256];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", s_data);
    cr_assert(s_file_has(mdb, "mission-locale"), "the scan sees what is stored in clear");
    for (size_t f = 0; f < 2; f++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", s_data, files[f]);
        for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
            cr_expect(!s_file_has(path, secrets[i]), "%s holds \"%s\" in clear", files[f],
                      secrets[i]);
    }
    /* ... while the broker still reads it all back. */
    cr_expect(s_has_person("C0000001"));
}

Test(erasure, retention_purges_after_n_months_only)
{
    clock_set(s_day(2024, 1, 10));
    const char *old = strdup(s_refer("mission-locale", "ml-old", "Zarkowskaïa", "Ludmilla",
                                     "2003-03-17"));
    s_close(old);
    clock_set(s_day(2024, 3, 10));
    const char *recent = strdup(s_refer("ccas", "cc-recent", "Quenouillère", "Bartholomé",
                                        "2004-08-29"));
    s_close(recent);
    /* 2026-02-10: the first closed 25 months ago, the second 23. */
    store_txn_t t;
    size_t erased = 0;
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(erasure_purge(s_cfg, &t, s_day(2026, 2, 10), &erased), 0);
    cr_assert_eq(store_commit(&t), 0);
    cr_expect_eq(erased, 1);
    cr_expect(!s_has_person(old));
    cr_expect(s_has_person(recent));
    /* Statistics survive. */
    Relais__Store__CaseRecord *c = s_case(old);
    cr_expect_eq(c->state, ST(CLOSED));
    cr_expect_eq(c->outcome, RELAIS__V1__OUTCOME__OUTCOME_TRAINING);
    cr_expect_str_neq(c->structure_id, "");
    cr_expect_str_eq(c->referrers[0]->partner, "mission-locale");
    cr_expect_neq(c->erased_at, 0);
    relais__store__case_record__free_unpacked(c, NULL);
    /* Idempotent: nothing more to do. */
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(erasure_purge(s_cfg, &t, s_day(2026, 2, 10), &erased), 0);
    cr_assert_eq(store_commit(&t), 0);
    cr_expect_eq(erased, 0);
    free((void *)old);
    free((void *)recent);
}

Test(erasure, on_request_erases_notifies_audits_and_forgets)
{
    char case_id[32];
    snprintf(case_id, sizeof case_id, "%s",
             s_refer("mission-locale", "ml-1", "Zarkowskaïa", "Ludmilla", "2003-03-17"));
    store_txn_t t;
    Relais__V1__StaffResult res = RELAIS__V1__STAFF_RESULT__INIT;
    /* An open case is refused, nothing changed. */
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(erasure_erase(s_cfg, &t, case_id, "demande art. 17", "staff:programme-team",
                               &res),
                 0);
    cr_expect(!res.ok);
    cr_expect_str_eq(res.error->code, "case_open");
    erasure_result_clear(&res);
    store_abort(&t);
    cr_expect(s_has_person(case_id));

    s_close(case_id);
    relais__v1__staff_result__init(&res);
    cr_assert_eq(store_begin(s_store, true, NULL, &t), 0);
    cr_assert_eq(erasure_erase(s_cfg, &t, case_id, "demande art. 17", "staff:programme-team",
                               &res),
                 0);
    cr_assert(res.ok);
    erasure_result_clear(&res);
    cr_assert_eq(store_commit(&t), 0);
    cr_expect(!s_has_person(case_id));

    /* The referrer heard of it, neutrally; the audit kept it. */
    Relais__V1__Events ev = RELAIS__V1__EVENTS__INIT;
    cr_assert_eq(store_begin(s_store, false, NULL, &t), 0);
    cr_assert_eq(feed_fetch(&t, "mission-locale", 0, 0, &ev), 0);
    cr_assert_gt(ev.n_events, 0);
    cr_expect_str_eq(ev.events[ev.n_events - 1]->detail, ERASURE_DETAIL);
    feed_events_clear(&ev);
    store_abort(&t);
    char path[256];
    store_sync(s_store);
    snprintf(path, sizeof path, "%s/data.mdb", s_data);
    cr_expect(s_file_has(path, "demande art. 17"), "the audit keeps the reason");

    /* Referred again: a new case, not the erased one. */
    const char *again = s_refer("ccas", "cc-9", "Zarkowskaïa", "Ludmilla", "2003-03-17");
    cr_expect_str_neq(again, case_id);
}
