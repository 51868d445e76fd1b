/*  test_admin — relais-admin's logic (broker/admin.c) on a real LMDB store.
 *
 *  Each test builds its store in a fresh mkdtemp directory through the
 *  real request path: packed Envelopes into service_handle, committed in
 *  a write transaction as the server does, no broker process needed.  The
 *  clock is pinned to 2026-03-02 so ages and dates never drift.
 *
 *  The main scenario (default Besançon configuration), 5 referrals:
 *    mission-locale/ml-1  Planoise   -> C0000001 routed, asq-planoise
 *    ccas/cc-1            Montrapon  -> C0000002 asq-montrapon, accepted
 *    rectorat/re-1        Battant    -> C0000003 mdq-battant declines it,
 *                                       re-routed to assoc-insertion
 *    addsea/ad-1          Palente    -> C0000004 mdq-palente, accepted,
 *                                       diagnosis, closed (training)
 *    ccas/cc-2            the young person of ml-1 again -> merged into
 *                                       C0000001
 *  It verifies clean; then each corruption test damages one thing through
 *  store_put/store_del and checks that verify counts and names it.
 *
 *  LMDB allows one environment per file per process: the tests close
 *  their own store handle before calling admin_* (which opens its own),
 *  and the backup test's "live broker" holding a write transaction open
 *  is a child process, as the real broker is.
 */
#define _XOPEN_SOURCE 700 /* nftw, to remove the temporary directories */

#include "admin.h"
#include "identity.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "relais.pb-c.h"
#include "relais_store.pb-c.h"
#include "route.h"
#include "service.h"
#include "store.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAP_SIZE (64u << 20)

static char s_dir[64];
static char s_data[128];
static char s_backup[128];
static config_t *s_cfg;

/* ---- fixture ---------------------------------------------------------- */

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_pin_clock(void)
{
    date_t d = {2026, 3, 2};
    clock_set(date_to_days(d) * 86400 + 12 * 3600);
}

static void s_setup_dirs(void)
{
    log_set_level(LOG_WARN); /* the service's one line per request: noise here */
    strcpy(s_dir, "/tmp/relais-test-admin-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_backup, sizeof s_backup, "%s/backup", s_dir);
    s_pin_clock();
}

static void s_teardown(void)
{
    config_free(&s_cfg);
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the request path -------------------------------------------------- */

typedef struct {
    store_t *store;
    service_t *service;
} s_broker_t;

static s_broker_t s_broker_open(const config_t *cfg)
{
    char err[256] = "";
    s_broker_t b;
    b.store = store_open(s_data, MAP_SIZE, false, err, sizeof err);
    cr_assert_not_null(b.store, "%s", err);
    cr_assert_eq(identity_init(s_data, err, sizeof err), 0, "%s", err);
    b.service = service_new(cfg, err, sizeof err);
    cr_assert_not_null(b.service, "%s", err);
    return b;
}

static void s_broker_close(s_broker_t *b)
{
    service_destroy(&b->service);
    store_close(&b->store);
}

/* One request in BATCH (a write transaction the caller commits); the
 * reply, unpacked, for the caller to free. */
static Relais__V1__Envelope *s_request_in(s_broker_t *b, store_txn_t *batch, service_endpoint_t ep,
                                          Relais__V1__Envelope *env)
{
    size_t len = relais__v1__envelope__get_packed_size(env);
    uint8_t *frame = malloc(len ? len : 1), *reply = NULL;
    size_t reply_len = 0;
    cr_assert_not_null(frame);
    relais__v1__envelope__pack(env, frame);
    cr_assert_eq(service_handle(b->service, batch, ep, frame, len, true, &reply, &reply_len, NULL), 0);
    free(frame);
    Relais__V1__Envelope *out = relais__v1__envelope__unpack(NULL, reply_len, reply);
    free(reply);
    cr_assert_not_null(out);
    return out;
}

/* One request in its own committed batch, as the server runs it. */
static Relais__V1__Envelope *s_request(s_broker_t *b, service_endpoint_t ep,
                                       Relais__V1__Envelope *env)
{
    store_txn_t batch;
    cr_assert_eq(store_begin(b->store, true, NULL, &batch), 0);
    Relais__V1__Envelope *out = s_request_in(b, &batch, ep, env);
    cr_assert_eq(store_commit(&batch), 0);
    return out;
}

typedef struct {
    Relais__V1__Envelope env;
    Relais__V1__Referral r;
    Relais__V1__Person p;
    Relais__V1__Benefit none;
} s_referral_t;

/* A valid, eligible referral (born 2003-2007: 18 to 25 in March 2026). */
static void s_referral_init(s_referral_t *m, const char *partner, const char *ref, const char *last,
                            const char *first, const char *born, const char *quartier)
{
    relais__v1__envelope__init(&m->env);
    relais__v1__referral__init(&m->r);
    relais__v1__person__init(&m->p);
    m->p.last_name = (char *)last;
    m->p.first_names = (char *)first;
    m->p.birth_date = (char *)born;
    m->p.quartier = (char *)quartier;
    m->none = RELAIS__V1__BENEFIT__BENEFIT_NONE;
    m->r.partner_ref = (char *)ref;
    m->r.person = &m->p;
    m->r.benefits = &m->none;
    m->r.n_benefits = 1;
    m->r.consent = 1;
    m->env.version = 1;
    m->env.request_id = (char *)ref;
    m->env.sender = (char *)partner;
    m->env.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    m->env.referral = &m->r;
}

/* Submits a referral and checks the answer: STATUS, and CASE_ID /
 * STRUCTURE when not NULL. */
static void s_refer(s_broker_t *b, const char *partner, const char *ref, const char *last,
                    const char *first, const char *born, const char *quartier,
                    Relais__V1__AckStatus status, const char *case_id, const char *structure)
{
    s_referral_t m;
    s_referral_init(&m, partner, ref, last, first, born, quartier);
    Relais__V1__Envelope *reply = s_request(b, SERVICE_PARTNER, &m.env);
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ACK, "%s: no Ack", ref);
    cr_assert_eq(reply->ack->status, status, "%s: status %d", ref, reply->ack->status);
    if (case_id)
        cr_assert_str_eq(reply->ack->case_id, case_id);
    if (structure)
        cr_assert_str_eq(reply->ack->structure_id, structure);
    relais__v1__envelope__free_unpacked(reply, NULL);
}

/* A coordinator of STRUCTURE acts; the action must be accepted and leave
 * the case in STATE. */
static void s_act(s_broker_t *b, const char *structure, const char *case_id,
                  Relais__V1__ActionKind kind, Relais__V1__CaseState milestone,
                  Relais__V1__Outcome outcome, const char *reason, Relais__V1__CaseState state)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
    a.case_id = (char *)case_id;
    a.kind = kind;
    a.milestone = milestone;
    a.outcome = outcome;
    a.reason = (char *)(reason ? reason : "");
    env.version = 1;
    env.request_id = "act";
    env.sender = (char *)structure;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_CASE_ACTION;
    env.case_action = &a;
    Relais__V1__Envelope *reply = s_request(b, SERVICE_COORDINATOR, &env);
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT);
    cr_assert(reply->action_result->ok, "%s on %s refused: %s", structure, case_id,
              reply->action_result->error ? reply->action_result->error->code : "?");
    cr_assert_eq(reply->action_result->state, state);
    relais__v1__envelope__free_unpacked(reply, NULL);
}

#define ST(x)  RELAIS__V1__CASE_STATE__CASE_##x
#define ACK(x) RELAIS__V1__ACK_STATUS__ACK_##x
#define ACT(x) RELAIS__V1__ACTION_KIND__ACTION_##x

static void s_scenario(void)
{
    char err[256] = "";
    s_cfg = config_load_default(err, sizeof err);
    cr_assert_not_null(s_cfg, "%s", err);
    s_broker_t b = s_broker_open(s_cfg);
    s_refer(&b, "mission-locale", "ml-1", "Durand", "Léa", "2004-05-06", "Planoise", ACK(ACCEPTED),
            "C0000001", "asq-planoise");
    s_refer(&b, "ccas", "cc-1", "Martin", "Yanis", "2005-01-02", "Montrapon", ACK(ACCEPTED),
            "C0000002", "asq-montrapon");
    s_act(&b, "asq-montrapon", "C0000002", ACT(ACCEPT), 0, 0, NULL, ST(ACCEPTED));
    s_refer(&b, "rectorat", "re-1", "Bernard", "Inès", "2006-07-08", "Battant", ACK(ACCEPTED),
            "C0000003", "mdq-battant");
    s_act(&b, "mdq-battant", "C0000003", ACT(DECLINE), 0, 0, "plus de place", ST(ROUTED));
    s_refer(&b, "addsea", "ad-1", "Petit", "Noah", "2003-11-12", "Palente", ACK(ACCEPTED),
            "C0000004", "mdq-palente");
    s_act(&b, "mdq-palente", "C0000004", ACT(ACCEPT), 0, 0, NULL, ST(ACCEPTED));
    s_act(&b, "mdq-palente", "C0000004", ACT(MILESTONE), ST(DIAGNOSIS_DONE), 0, NULL,
          ST(DIAGNOSIS_DONE));
    s_act(&b, "mdq-palente", "C0000004", ACT(CLOSE), 0, RELAIS__V1__OUTCOME__OUTCOME_TRAINING, NULL,
          ST(CLOSED));
    s_refer(&b, "ccas", "cc-2", "DURAND", "Lea", "2004-05-06", "Planoise", ACK(MERGED), "C0000001",
            "asq-planoise");
    s_broker_close(&b);
}

static void s_setup_scenario(void)
{
    s_setup_dirs();
    s_scenario();
}

/* ---- helpers on the result -------------------------------------------- */

typedef struct {
    char *text;
    size_t len;
    FILE *file;
} s_capture_t;

static void s_capture_open(s_capture_t *c)
{
    c->text = NULL;
    c->len = 0;
    c->file = open_memstream(&c->text, &c->len);
    cr_assert_not_null(c->file);
}

/* Closes the stream; the text stays in c->text until s_capture_free. */
static const char *s_capture_done(s_capture_t *c)
{
    cr_assert_eq(fclose(c->file), 0);
    c->file = NULL;
    return c->text;
}

static void s_capture_free(s_capture_t *c)
{
    free(c->text);
    c->text = NULL;
}

/* Runs verify; returns the number of problems, the report in *TEXT (the
 * caller frees). */
static size_t s_verify(const char *dir, char **text)
{
    s_capture_t c;
    size_t problems = 99;
    char err[256] = "";
    s_capture_open(&c);
    cr_assert_eq(admin_verify(dir, s_cfg, c.file, false, &problems, err, sizeof err), 0, "%s", err);
    s_capture_done(&c);
    *text = c.text;
    return problems;
}

static void s_expect_problems(size_t want, const char *const *lines)
{
    char *text;
    size_t got = s_verify(s_data, &text);
    cr_expect_eq(got, want, "%zu problems, %zu expected; report:\n%s", got, want, text);
    for (size_t i = 0; lines[i]; i++)
        cr_expect_not_null(strstr(text, lines[i]), "missing \"%s\" in:\n%s", lines[i], text);
    free(text);
}

/* Opens the store for writing, runs FN in a committed transaction. */
static void s_damage(void (*fn)(store_txn_t *t))
{
    char err[256] = "";
    store_t *store = store_open(s_data, MAP_SIZE, false, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    store_txn_t t;
    cr_assert_eq(store_begin(store, true, NULL, &t), 0);
    fn(&t);
    cr_assert_eq(store_commit(&t), 0);
    store_close(&store);
}

/* ---- verify ----------------------------------------------------------- */

TestSuite(admin_verify, .init = s_setup_scenario, .fini = s_teardown);

Test(admin_verify, clean_store_has_no_problem)
{
    char *text;
    cr_assert_eq(s_verify(s_data, &text), 0, "%s", text);
    /* 4 cases, 5 referral records, 3 open cases queued, 4 partner feeds. */
    cr_expect_not_null(strstr(text, ": OK (checked 4 cases, 4 persons, 5 referrals, "
                                    "3 queue entries"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "in 4 feeds, 0 waitlist entries)"), "%s", text);
    free(text);
}

Test(admin_verify, json_report)
{
    s_capture_t c;
    size_t problems;
    char err[256] = "";
    s_capture_open(&c);
    cr_assert_eq(admin_verify(s_data, s_cfg, c.file, true, &problems, err, sizeof err), 0);
    json_error_t jerr;
    json_t *doc = json_loads(s_capture_done(&c), 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    cr_expect(json_is_true(json_object_get(doc, "ok")));
    cr_expect_eq(json_array_size(json_object_get(doc, "problems")), 0);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(doc, "checked"), "cases")), 4);
    json_decref(doc);
    s_capture_free(&c);
}

static void s_del_queue_entry(store_txn_t *t)
{
    char key[64];
    size_t klen = store_key2(key, sizeof key, "asq-planoise", "C0000001");
    cr_assert_eq(store_del(t, STORE_QUEUES, key, klen, NULL, 0), 0);
}

Test(admin_verify, missing_queue_entry)
{
    s_damage(s_del_queue_entry);
    /* The case misses its entry, and the structure's load no longer
     * matches its (now empty) queue: two problems. */
    s_expect_problems(
        2, (const char *const[]){"problem: case C0000001: routed at structure asq-planoise but "
                                 "not in its queue\n",
                                 "problem: load:asq-planoise: counter says 1 open cases, the "
                                 "queue holds 0\n",
                                 NULL});
}

static void s_add_dangling_identity(store_txn_t *t)
{
    unsigned char id[8];
    const char *key = "n:fantome|zoe|2004-01-01";
    store_u64_encode(99, id);
    cr_assert_eq(store_put(t, STORE_IDENTITY, key, strlen(key), id, 8, 0), 0);
}

Test(admin_verify, dangling_identity_entry)
{
    s_damage(s_add_dangling_identity);
    char *text;
    cr_expect_eq(s_verify(s_data, &text), 1, "%s", text);
    cr_expect_not_null(
        strstr(text, "problem: identity: an entry points to person 99, which does not exist\n"),
        "%s", text);
    /* The key is made of a name and a birth date: never printed. */
    cr_expect_null(strstr(text, "fantome"), "%s", text);
    cr_expect_null(strstr(text, "2004-01-01"), "%s", text);
    free(text);
}

static void s_bump_load(store_txn_t *t)
{
    cr_assert_eq(route_load_add(t, "asq-montrapon", 1), 0);
}

Test(admin_verify, load_counter_off)
{
    s_damage(s_bump_load);
    s_expect_problems(1, (const char *const[]){"problem: load:asq-montrapon: counter says 2 "
                                               "open cases, the queue holds 1\n",
                                               NULL});
}

static void s_del_feed_middle(store_txn_t *t)
{
    /* addsea's feed: routed (1), accepted (2), diagnosis (3), closed (4). */
    char key[32];
    memcpy(key, "addsea", 7);
    store_u64_encode(2, (unsigned char *)key + 7);
    cr_assert_eq(store_del(t, STORE_FEEDS, key, 15, NULL, 0), 0);
}

Test(admin_verify, feed_gap)
{
    s_damage(s_del_feed_middle);
    s_expect_problems(1, (const char *const[]){"problem: feed addsea: seq 2 missing\n", NULL});
}

static void s_del_feed_tail(store_txn_t *t)
{
    char key[32];
    for (uint64_t seq = 3; seq <= 4; seq++) {
        memcpy(key, "addsea", 7);
        store_u64_encode(seq, (unsigned char *)key + 7);
        cr_assert_eq(store_del(t, STORE_FEEDS, key, 15, NULL, 0), 0);
    }
}

Test(admin_verify, feed_tail_missing_is_one_gap)
{
    s_damage(s_del_feed_tail);
    s_expect_problems(
        1, (const char *const[]){"problem: feed addsea: seqs 3..4 missing (2 events)\n", NULL});
}

static void s_everything(store_txn_t *t)
{
    s_del_queue_entry(t);
    s_add_dangling_identity(t);
    s_bump_load(t);
    s_del_feed_middle(t);
}

Test(admin_verify, each_problem_counted_once)
{
    s_damage(s_everything);
    s_expect_problems(5, (const char *const[]){"C0000001", "person 99", "load:asq-montrapon",
                                               "feed addsea: seq 2", NULL});
}

static void s_break_budget_and_case(store_txn_t *t)
{
    /* C0000002 forgets its place; the budget counter still counts it. */
    MDB_val v;
    cr_assert_eq(store_get(t, STORE_CASES, "C0000002", 8, &v), 0);
    Relais__Store__CaseRecord *c = relais__store__case_record__unpack(NULL, v.mv_size, v.mv_data);
    cr_assert_not_null(c);
    c->holds_place = false;
    cr_assert_eq(store_put_msg(t, STORE_CASES, "C0000002", 8, &c->base), 0);
    relais__store__case_record__free_unpacked(c, NULL);
}

Test(admin_verify, budget_counter_and_place)
{
    s_damage(s_break_budget_and_case);
    s_expect_problems(
        2, (const char *const[]){"problem: case C0000002: accepted but holds no budget place\n",
                                 "problem: budget: counter budget:reserved_eur is 18000 EUR, but 2 "
                                 "cases hold a place (12000 EUR)\n",
                                 NULL});
}

static void s_orphan_referral(store_txn_t *t)
{
    char key[64];
    size_t klen = store_key2(key, sizeof key, "rectorat", "re-1");
    cr_assert_eq(store_del(t, STORE_REFERRALS, key, klen, NULL, 0), 0);
    cr_assert_eq(store_del(t, STORE_CASES, "C0000004", 8, NULL, 0), 0);
}

Test(admin_verify, referrals_and_cases_cross_checked)
{
    s_damage(s_orphan_referral);
    /* C0000004 gone: its person's case list is history, but its referral
     * record and the 4 events of addsea's feed now name nothing. */
    s_expect_problems(
        6, (const char *const[]){"problem: case C0000003: referral rectorat/re-1 has no referral "
                                 "record\n",
                                 "problem: referral addsea/ad-1: case C0000004 does not exist\n",
                                 "problem: feed addsea: seq 1: case 'C0000004' does not exist\n",
                                 "problem: feed addsea: seq 4: case 'C0000004' does not exist\n",
                                 NULL});
}

Test(admin_verify, store_that_does_not_exist)
{
    char err[256] = "";
    char missing[160];
    size_t problems = 7;
    snprintf(missing, sizeof missing, "%s/nothing-here", s_dir);
    cr_expect_eq(admin_verify(missing, s_cfg, stdout, false, &problems, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, missing), "%s", err);
    cr_expect_eq(problems, 0);
}

/* ---- backup ----------------------------------------------------------- */

TestSuite(admin_backup, .init = s_setup_scenario, .fini = s_teardown);

static bool s_has_referral(const char *dir, const char *partner, const char *ref)
{
    char err[256] = "", key[64];
    store_t *store = store_open(dir, 0, true, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    store_txn_t t;
    MDB_val v;
    cr_assert_eq(store_begin(store, false, NULL, &t), 0);
    size_t klen = store_key2(key, sizeof key, partner, ref);
    int rc = store_get(&t, STORE_REFERRALS, key, klen, &v);
    store_abort(&t);
    store_close(&store);
    cr_assert(rc == 0 || rc == MDB_NOTFOUND, "%s", store_strerror(rc));
    return rc == 0;
}

/* The live broker, in its own process: opens the store, begins a batch
 * with one more referral in it, says so on READY, waits for GO, commits.
 * Exit status 0 when all went well. */
static void s_live_writer(int ready, int go)
{
    s_pin_clock();
    char err[256];
    store_t *store = store_open(s_data, MAP_SIZE, false, err, sizeof err);
    service_t *service = store && identity_init(s_data, err, sizeof err) == 0
                             ? service_new(s_cfg, err, sizeof err)
                             : NULL;
    if (!service)
        _exit(10);
    store_txn_t batch;
    if (store_begin(store, true, NULL, &batch) != 0)
        _exit(11);
    s_referral_t m;
    s_referral_init(&m, "mission-locale", "ml-late", "Moreau", "Sami", "2005-09-10", "Montrapon");
    uint8_t frame[512], *reply = NULL;
    size_t len = relais__v1__envelope__pack(&m.env, frame), reply_len;
    if (service_handle(service, &batch, SERVICE_PARTNER, frame, len, true, &reply, &reply_len, NULL) != 0)
        _exit(12);
    free(reply);
    char c = 'r';
    if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
        _exit(13);
    if (store_commit(&batch) != 0)
        _exit(14);
    service_destroy(&service);
    store_close(&store);
    _exit(0);
}

Test(admin_backup, consistent_copy_beside_an_open_write_transaction)
{
    int ready[2], go[2];
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        s_live_writer(ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1, "the live writer did not start");

    /* The writer holds its write transaction open: the backup must neither
     * wait for it nor see its uncommitted referral. */
    s_capture_t out;
    size_t problems = 99;
    char err[256] = "";
    s_capture_open(&out);
    int rc = admin_backup(s_data, s_backup, s_cfg, out.file, false, &problems, err, sizeof err);
    const char *text = s_capture_done(&out);

    cr_assert_eq(write(go[1], "g", 1), 1);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "live writer status %d", status);
    close(ready[0]);
    close(go[1]);

    cr_assert_eq(rc, 0, "%s", err);
    cr_expect_eq(problems, 0, "%s", text);
    cr_expect_not_null(strstr(text, "backup OK: "), "%s", text);
    s_capture_free(&out);

    /* Mode 0700 directory, 0600 file: the copy holds personal data. */
    struct stat st;
    char file[192];
    cr_assert_eq(stat(s_backup, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0700);
    snprintf(file, sizeof file, "%s/data.mdb", s_backup);
    cr_assert_eq(stat(file, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);

    /* Everything committed before the backup, nothing committed after. */
    static const char *const before[][2] = {{"mission-locale", "ml-1"},
                                            {"ccas", "cc-1"},
                                            {"rectorat", "re-1"},
                                            {"addsea", "ad-1"},
                                            {"ccas", "cc-2"}};
    for (size_t i = 0; i < 5; i++)
        cr_expect(s_has_referral(s_backup, before[i][0], before[i][1]), "%s/%s not in backup",
                  before[i][0], before[i][1]);
    cr_expect_not(s_has_referral(s_backup, "mission-locale", "ml-late"));
    cr_expect(s_has_referral(s_data, "mission-locale", "ml-late"));

    /* Both verify clean: the copy, and the live store after the commit. */
    char *report;
    cr_expect_eq(s_verify(s_backup, &report), 0, "%s", report);
    free(report);
    cr_expect_eq(s_verify(s_data, &report), 0, "%s", report);
    free(report);

    /* The copy is a store the broker can run on: it opens for writing. */
    store_t *copy = store_open(s_backup, MAP_SIZE, false, err, sizeof err);
    cr_expect_not_null(copy, "%s", err);
    store_close(&copy);
}

Test(admin_backup, into_an_empty_existing_directory)
{
    size_t problems = 99;
    char err[256] = "";
    cr_assert_eq(mkdir(s_backup, 0750), 0);
    cr_assert_eq(admin_backup(s_data, s_backup, s_cfg, NULL, false, &problems, err, sizeof err), 0,
                 "%s", err);
    cr_expect_eq(problems, 0);
    cr_expect(s_has_referral(s_backup, "ccas", "cc-2"));
}

Test(admin_backup, refuses_a_non_empty_directory)
{
    size_t problems = 99;
    char err[256] = "", file[192];
    cr_assert_eq(mkdir(s_backup, 0700), 0);
    snprintf(file, sizeof file, "%s/notes.txt", s_backup);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_expect_eq(admin_backup(s_data, s_backup, s_cfg, NULL, false, &problems, err, sizeof err),
                 -1);
    cr_expect_not_null(strstr(err, "is not empty"), "%s", err);
    /* Nothing added next to what was there. */
    snprintf(file, sizeof file, "%s/data.mdb", s_backup);
    cr_expect_neq(access(file, F_OK), 0);
}

Test(admin_backup, missing_store_leaves_nothing_behind)
{
    size_t problems = 99;
    char err[256] = "", missing[160];
    snprintf(missing, sizeof missing, "%s/nothing-here", s_dir);
    cr_expect_eq(admin_backup(missing, s_backup, s_cfg, NULL, false, &problems, err, sizeof err),
                 -1);
    cr_expect_not_null(strstr(err, missing), "%s", err);
    cr_expect_neq(access(s_backup, F_OK), 0, "the destination created for nothing was kept");
}

Test(admin_backup, json_report)
{
    s_capture_t out;
    size_t problems = 99;
    char err[256] = "";
    s_capture_open(&out);
    cr_assert_eq(admin_backup(s_data, s_backup, s_cfg, out.file, true, &problems, err, sizeof err),
                 0, "%s", err);
    json_error_t jerr;
    json_t *doc = json_loads(s_capture_done(&out), 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    cr_expect(json_is_true(json_object_get(doc, "ok")));
    cr_expect_str_eq(json_string_value(json_object_get(doc, "backup")), s_backup);
    cr_expect_gt(json_integer_value(json_object_get(doc, "bytes")), 0);
    cr_expect_eq(
        json_integer_value(json_object_get(json_object_get(doc, "verify"), "problem_count")), 0);
    json_decref(doc);
    s_capture_free(&out);
}

/* ---- budget ----------------------------------------------------------- */

/* The default configuration with an envelope of exactly 2 places (2 x 500
 * EUR x 12 months). */
static void s_setup_small_budget(void)
{
    s_setup_dirs();
    const char *from = "envelope_eur = 1000000;";
    const char *at = strstr(config_default_text, from);
    cr_assert_not_null(at);
    char *text = malloc(strlen(config_default_text) + 1);
    cr_assert_not_null(text);
    sprintf(text, "%.*senvelope_eur = 12000;%s", (int)(at - config_default_text),
            config_default_text, at + strlen(from));
    char err[256] = "";
    s_cfg = config_load_string(text, "small-budget", err, sizeof err);
    free(text);
    cr_assert_not_null(s_cfg, "%s", err);
    cr_assert_eq(s_cfg->envelope_eur, 12000);

    s_broker_t b = s_broker_open(s_cfg);
    s_refer(&b, "mission-locale", "ml-1", "Durand", "Léa", "2004-05-06", "Planoise", ACK(ACCEPTED),
            "C0000001", "asq-planoise");
    s_refer(&b, "ccas", "cc-1", "Martin", "Yanis", "2005-01-02", "Montrapon", ACK(ACCEPTED),
            "C0000002", "asq-montrapon");
    s_refer(&b, "rectorat", "re-1", "Bernard", "Inès", "2006-07-08", "Battant", ACK(WAITLISTED),
            "C0000003", "");
    s_broker_close(&b);
}

TestSuite(admin_budget, .init = s_setup_small_budget, .fini = s_teardown);

static admin_budget_t s_budget(char **text)
{
    s_capture_t c;
    admin_budget_t b;
    char err[256] = "";
    memset(&b, 0xff, sizeof b);
    s_capture_open(&c);
    cr_assert_eq(admin_budget(s_data, s_cfg, c.file, false, &b, err, sizeof err), 0, "%s", err);
    s_capture_done(&c);
    *text = c.text;
    return b;
}

Test(admin_budget, two_routed_one_waitlisted)
{
    char *text;
    admin_budget_t b = s_budget(&text);
    cr_expect_eq(b.envelope_eur, 12000);
    cr_expect_eq(b.place_eur, 6000);
    cr_expect_eq(b.reserved_eur, 12000);
    cr_expect_eq(b.reserved_places, 2);
    cr_expect_eq(b.committed_cents, 0);
    cr_expect_eq(b.contracts, 0);
    cr_expect_eq(b.counter_eur, 12000);
    cr_expect_eq(b.free_cents, 0);
    cr_expect_eq(b.free_places, 0);
    cr_expect_eq(b.waitlist_len, 1);
    cr_expect_eq(b.waitlist_entries, 1);
    cr_expect_not_null(strstr(text, "reserved (routed, no contract yet)              12000 EUR  "
                                    "2 places\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "free                                             0.00 EUR  "
                                    "0 places\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "waitlist                                            1 case\n"),
                       "%s", text);
    cr_expect_null(strstr(text, "warning"), "%s", text);
    free(text);
    char *report;
    cr_expect_eq(s_verify(s_data, &report), 0, "%s", report);
    free(report);
}

Test(admin_budget, contract_commits_and_close_frees_for_the_waitlist)
{
    s_broker_t b = s_broker_open(s_cfg);
    s_act(&b, "asq-planoise", "C0000001", ACT(ACCEPT), 0, 0, NULL, ST(ACCEPTED));
    s_act(&b, "asq-planoise", "C0000001", ACT(MILESTONE), ST(DIAGNOSIS_DONE), 0, NULL,
          ST(DIAGNOSIS_DONE));
    s_act(&b, "asq-planoise", "C0000001", ACT(MILESTONE), ST(PLAN_AGREED), 0, NULL,
          ST(PLAN_AGREED));
    s_act(&b, "asq-planoise", "C0000001", ACT(MILESTONE), ST(CONTRACT_SIGNED), 0, NULL,
          ST(CONTRACT_SIGNED));
    s_broker_close(&b);

    char *text;
    admin_budget_t f = s_budget(&text);
    free(text);
    /* Signed on 2026-03-02 for the longest term: 12 x 500 EUR committed,
     * the place it reserved released, the other case's place still held. */
    cr_expect_eq(f.committed_cents, 600000);
    cr_expect_eq(f.contracts, 1);
    cr_expect_eq(f.reserved_eur, 6000);
    cr_expect_eq(f.free_cents, 0);
    cr_expect_eq(f.waitlist_len, 1);

    /* Closed the same day: the contract ran one day (500 x 1/31 = 16.13
     * EUR), the rest is released -- but 6000 EUR reserved + 16.13 leaves
     * less than a place: the waitlisted case keeps waiting (never over
     * the envelope). */
    b = s_broker_open(s_cfg);
    s_act(&b, "asq-planoise", "C0000001", ACT(CLOSE), 0, RELAIS__V1__OUTCOME__OUTCOME_EMPLOYMENT,
          NULL, ST(CLOSED));
    s_broker_close(&b);
    f = s_budget(&text);
    free(text);
    cr_expect_eq(f.committed_cents, 1613);
    cr_expect_eq(f.paid_cents, 1613);
    cr_expect_eq(f.reserved_eur, 6000);
    cr_expect_eq(f.reserved_places, 1);
    cr_expect_eq(f.free_cents, 1200000 - 600000 - 1613);
    cr_expect_eq(f.free_places, 0);
    cr_expect_eq(f.waitlist_len, 1);
    cr_expect_eq(f.waitlist_entries, 1);
    char *report;
    cr_expect_eq(s_verify(s_data, &report), 0, "%s", report);
    free(report);
}

static void s_drop_waitlist_counter(store_txn_t *t)
{
    cr_assert_eq(store_counter_add(t, "waitlist:len", -1, NULL), 0);
}

Test(admin_budget, json_and_inconsistent_counters)
{
    s_damage(s_drop_waitlist_counter);
    s_capture_t c;
    char err[256] = "";
    s_capture_open(&c);
    cr_assert_eq(admin_budget(s_data, s_cfg, c.file, true, NULL, err, sizeof err), 0, "%s", err);
    json_error_t jerr;
    json_t *doc = json_loads(s_capture_done(&c), 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    cr_expect_eq(json_integer_value(json_object_get(doc, "reserved_eur")), 12000);
    cr_expect_eq(json_integer_value(json_object_get(doc, "free_eur")), 0);
    cr_expect_eq(json_integer_value(json_object_get(doc, "free_places")), 0);
    cr_expect_eq(json_integer_value(json_object_get(doc, "waitlist_len")), 0);
    cr_expect_eq(json_integer_value(json_object_get(doc, "waitlist_entries")), 1);
    cr_expect(json_is_false(json_object_get(doc, "consistent")));
    json_decref(doc);
    s_capture_free(&c);

    s_expect_problems(1, (const char *const[]){"problem: waitlist: counter waitlist:len is 0, "
                                               "the waitlist holds 1\n",
                                               NULL});
}

/* ---- cases ------------------------------------------------------------ */

TestSuite(admin_cases, .init = s_setup_scenario, .fini = s_teardown);

static size_t s_cases(const admin_case_filter_t *f, bool json, char **text)
{
    s_capture_t c;
    size_t n = 99;
    char err[256] = "";
    s_capture_open(&c);
    cr_assert_eq(admin_cases(s_data, c.file, json, f, &n, err, sizeof err), 0, "%s", err);
    s_capture_done(&c);
    *text = c.text;
    return n;
}

Test(admin_cases, all_cases_no_person_data)
{
    char *text;
    cr_assert_eq(s_cases(NULL, false, &text), 4, "%s", text);
    cr_expect_not_null(strstr(text, "case       state            structure            created "
                                    "    routed      outcome        referred by\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "C0000001   routed           asq-planoise         "
                                    "2026-03-02  2026-03-02  -              "
                                    "mission-locale,ccas\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "C0000003   routed           assoc-insertion"), "%s", text);
    cr_expect_not_null(strstr(text, "C0000004   closed           mdq-palente          "
                                    "2026-03-02  2026-03-02  training       addsea\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "\n4 cases\n"), "%s", text);
    static const char *const personal[] = {"Durand",   "DURAND",       "Léa",  "Martin",
                                           "Bernard",  "Petit",        "Noah", "2004-05-06",
                                           "Planoise", "plus de place"};
    for (size_t i = 0; i < sizeof personal / sizeof *personal; i++)
        cr_expect_null(strstr(text, personal[i]), "'%s' listed:\n%s", personal[i], text);
    free(text);
}

Test(admin_cases, filters)
{
    char *text;
    admin_case_filter_t routed = {ST(ROUTED), NULL};
    cr_expect_eq(s_cases(&routed, false, &text), 2, "%s", text);
    cr_expect_not_null(strstr(text, "C0000001"));
    cr_expect_not_null(strstr(text, "C0000003"));
    free(text);

    admin_case_filter_t at = {0, "asq-montrapon"};
    cr_expect_eq(s_cases(&at, false, &text), 1, "%s", text);
    cr_expect_not_null(strstr(text, "C0000002   accepted "), "%s", text);
    free(text);

    admin_case_filter_t none = {ST(CLOSED), "asq-montrapon"};
    cr_expect_eq(s_cases(&none, false, &text), 0, "%s", text);
    cr_expect_not_null(strstr(text, "\n0 cases\n"), "%s", text);
    free(text);
}

Test(admin_cases, json)
{
    char *text;
    admin_case_filter_t closed = {ST(CLOSED), NULL};
    cr_assert_eq(s_cases(&closed, true, &text), 1, "%s", text);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    cr_assert_not_null(doc, "%s\n%s", jerr.text, text);
    cr_expect_eq(json_integer_value(json_object_get(doc, "count")), 1);
    json_t *c = json_array_get(json_object_get(doc, "cases"), 0);
    cr_assert_not_null(c);
    cr_expect_str_eq(json_string_value(json_object_get(c, "case_id")), "C0000004");
    cr_expect_str_eq(json_string_value(json_object_get(c, "state")), "closed");
    cr_expect_str_eq(json_string_value(json_object_get(c, "structure_id")), "mdq-palente");
    cr_expect_str_eq(json_string_value(json_object_get(c, "created_on")), "2026-03-02");
    cr_expect_str_eq(json_string_value(json_object_get(c, "outcome")), "training");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(c, "referred_by"), 0)),
                     "addsea");
    json_decref(doc);
    free(text);
}
