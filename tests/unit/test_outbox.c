/*  test_outbox — the partner outbox (relais_outbox.h) without a broker.
 *
 *  - put is durable (close and reopen: still queued) and never duplicates
 *    a partner_ref, queued or acknowledged;
 *  - the retry schedule: 1 s doubling, capped at 5 min, jitter within
 *    ±20 %, both as the pure function and as what failed drains write
 *    (time moved with clock_set);
 *  - drain's handling of each kind of answer, against a scripted ZeroMQ
 *    ROUTER peer in a thread (the same technique as test_cli's client
 *    tests; not a broker mock: the broker itself is tested in
 *    tests/integration/test_outbox.c): an Ack is recorded, "unavailable"
 *    is retried with the same bytes, any other Error is a rejection that
 *    a new put queues afresh.
 */
#include "clock.h"
#include "relais_client.h"
#include "relais_outbox.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define T0 1795000000LL /* 2026-11-18, unix seconds */
/* Nothing listens there: every attempt times out. */
#define DEAD_ENDPOINT "tcp://127.0.0.1:9"

static char s_dir[PATH_MAX];

static void s_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        s_remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/relais-outbox-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
    clock_set(T0);
}

static void s_teardown(void)
{
    clock_reset();
    s_remove_tree(s_dir);
}

TestSuite(outbox, .init = s_setup, .fini = s_teardown, .timeout = 60);

static relais_outbox_t *s_open(void)
{
    char err[256] = "";
    relais_outbox_t *o = relais_outbox_open(s_dir, "mission-locale", err, sizeof err);
    cr_assert_not_null(o, "open: %s", err);
    return o;
}

typedef struct {
    Relais__V1__Referral r;
    Relais__V1__Person p;
} s_ref_t;

static void s_ref(s_ref_t *h, const char *partner_ref)
{
    relais__v1__referral__init(&h->r);
    relais__v1__person__init(&h->p);
    h->p.last_name = (char *)"Martin";
    h->p.first_names = (char *)"Léa";
    h->p.birth_date = (char *)"2004-05-06";
    h->r.partner_ref = (char *)partner_ref;
    h->r.person = &h->p;
    h->r.consent = 1;
}

static void s_put(relais_outbox_t *o, const char *ref, relais_outbox_state_t want_state,
                  bool want_added)
{
    s_ref_t h;
    s_ref(&h, ref);
    relais_outbox_state_t st = 0;
    bool added = !want_added;
    cr_assert_eq(relais_outbox_put(o, &h.r, &st, &added), RELAIS_OK, "put %s: %s", ref,
                 relais_outbox_last_error(o));
    cr_assert_eq(st, want_state, "put %s: state %d", ref, st);
    cr_assert_eq(added, want_added, "put %s: added %d", ref, added);
}

/* A copy of one entry's fields, taken in the callback. */
typedef struct {
    int calls;
    relais_outbox_state_t state;
    uint32_t attempts;
    int64_t next_ms;
    int64_t first_ms;
    char code[64];
    int ack_status;
    bool replay;
    char case_id[32];
} s_seen_t;

static void s_capture(void *arg, const relais_outbox_entry_t *e)
{
    s_seen_t *s = arg;
    s->calls++;
    s->state = e->state;
    s->attempts = e->attempts;
    s->next_ms = e->next_attempt_at_ms;
    s->first_ms = e->first_queued_at_ms;
    snprintf(s->code, sizeof s->code, "%s", e->error_code);
    s->ack_status = e->ack ? (int)e->ack->status : -1;
    s->replay = e->ack && e->ack->replay;
    snprintf(s->case_id, sizeof s->case_id, "%s", e->ack && e->ack->case_id ? e->ack->case_id : "");
}

static s_seen_t s_get(relais_outbox_t *o, const char *ref)
{
    s_seen_t seen = {0};
    cr_assert_eq(relais_outbox_get(o, ref, s_capture, &seen), RELAIS_OK, "get %s", ref);
    cr_assert_eq(seen.calls, 1);
    return seen;
}

static relais_client_t *s_client(const char *endpoint, int timeout_ms)
{
    char err[256];
    relais_client_t *c = relais_client_new(endpoint, "mission-locale", err, sizeof err);
    cr_assert_not_null(c, "client: %s", err);
    relais_client_set_timeout(c, timeout_ms, 1);
    return c;
}

/* ---- put -------------------------------------------------------------------- */

Test(outbox, put_is_durable_across_close_and_reopen)
{
    relais_outbox_t *o = s_open();
    s_put(o, "ML-1", RELAIS_OUTBOX_QUEUED, true);
    s_put(o, "ML-2", RELAIS_OUTBOX_QUEUED, true);
    relais_outbox_close(&o);
    cr_assert_null(o);

    o = s_open();
    relais_outbox_stats_t st;
    cr_assert_eq(relais_outbox_stats(o, &st), RELAIS_OK);
    cr_assert_eq(st.queued, 2);
    cr_assert_eq(st.acked + st.rejected + st.retrying, 0);
    cr_assert_eq(st.next_attempt_at_ms, T0 * 1000);
    clock_set(T0 + 90);
    cr_assert_eq(relais_outbox_stats(o, &st), RELAIS_OK);
    cr_assert_eq(st.oldest_queued_age_ms, 90 * 1000);
    s_seen_t seen = s_get(o, "ML-1");
    cr_assert_eq(seen.state, RELAIS_OUTBOX_QUEUED);
    cr_assert_eq(seen.attempts, 0);
    cr_assert_eq(seen.first_ms, T0 * 1000);
    cr_assert_eq(relais_outbox_get(o, "ML-404", s_capture, &seen), 1);

    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/outbox-mission-locale", s_dir);
    cr_assert_str_eq(relais_outbox_path(o), path);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700, "the outbox holds personal data: owner only");
    relais_outbox_close(&o);
}

Test(outbox, duplicate_put_is_not_duplicated)
{
    relais_outbox_t *o = s_open();
    s_put(o, "ML-1", RELAIS_OUTBOX_QUEUED, true);
    clock_set(T0 + 5);
    s_put(o, "ML-1", RELAIS_OUTBOX_QUEUED, false);
    relais_outbox_stats_t st;
    cr_assert_eq(relais_outbox_stats(o, &st), RELAIS_OK);
    cr_assert_eq(st.queued, 1);
    cr_assert_eq(s_get(o, "ML-1").first_ms, T0 * 1000, "the first put stands");
    relais_outbox_close(&o);
}

Test(outbox, bad_arguments_are_refused)
{
    char err[256] = "";
    cr_assert_null(relais_outbox_open(s_dir, "../etc", err, sizeof err));
    cr_assert(strstr(err, "cannot name"), "%s", err);
    cr_assert_null(relais_outbox_open(s_dir, "", err, sizeof err));
    relais_outbox_t *o = s_open();
    s_ref_t h;
    s_ref(&h, "");
    cr_assert_eq(relais_outbox_put(o, &h.r, NULL, NULL), RELAIS_ESYS);
    cr_assert(strstr(relais_outbox_last_error(o), "partner_ref"));
    relais_outbox_close(&o);
}

/* ---- the retry schedule ------------------------------------------------------ */

Test(outbox, backoff_doubles_from_one_second_and_is_capped)
{
    int64_t want = 1000;
    for (uint32_t n = 1; n <= 40; n++) {
        cr_assert_eq(relais_outbox_backoff_ms(n, 0.5), want, "failure %u", n);
        cr_assert_eq(relais_outbox_backoff_ms(n, 0.0), want * 8 / 10, "failure %u, low", n);
        int64_t high = relais_outbox_backoff_ms(n, 0.999999);
        cr_assert(high < want * 12 / 10 && high > want * 119 / 100, "failure %u, high", n);
        want = want * 2 > 300000 ? 300000 : want * 2;
    }
    cr_assert_eq(relais_outbox_backoff_ms(9, 0.5), 256000);
    cr_assert_eq(relais_outbox_backoff_ms(10, 0.5), 300000);
    cr_assert_eq(relais_outbox_backoff_ms(UINT32_MAX, 0.5), 300000);
}

/* What failed drains write: each failure schedules the next attempt after
 * the doubled delay, jittered within ±20 %; a drain before that time sends
 * nothing. */
Test(outbox, failed_drains_back_off_with_jitter_inside_bounds)
{
    relais_outbox_t *o = s_open();
    relais_client_t *c = s_client(DEAD_ENDPOINT, 30);
    s_put(o, "ML-1", RELAIS_OUTBOX_QUEUED, true);
    int64_t now = T0;
    int64_t base = 1000;
    bool jittered = false;
    for (uint32_t n = 1; n <= 12; n++) {
        relais_outbox_drain_t d;
        cr_assert_eq(relais_outbox_drain(o, c, 0, NULL, NULL, &d), RELAIS_ETIMEOUT);
        cr_assert_eq(d.sent, 1);
        cr_assert_eq(d.deferred, 1);
        s_seen_t seen = s_get(o, "ML-1");
        cr_assert_eq(seen.state, RELAIS_OUTBOX_QUEUED);
        cr_assert_eq(seen.attempts, n);
        cr_assert_str_eq(seen.code, "unreachable");
        int64_t delay = seen.next_ms - now * 1000;
        cr_assert(delay >= base * 8 / 10 && delay <= base * 12 / 10,
                  "failure %u: delay %lld ms outside %lld ms ±20 %%", n, (long long)delay,
                  (long long)base);
        if (delay != base)
            jittered = true;

        /* One second before it is due: nothing is sent. */
        clock_set(seen.next_ms / 1000 - 1);
        cr_assert_eq(relais_outbox_drain(o, c, 0, NULL, NULL, &d), RELAIS_OK);
        cr_assert_eq(d.sent, 0);
        /* clock_now has whole seconds: the first second at or after the
         * due time. */
        now = (seen.next_ms + 999) / 1000;
        clock_set(now);
        base = base * 2 > 300000 ? 300000 : base * 2;
    }
    cr_assert(jittered, "twelve delays, all exactly on the doubling: no jitter");
    relais_client_destroy(&c);
    relais_outbox_close(&o);
}

Test(outbox, unreachable_broker_defers_every_due_entry_once)
{
    relais_outbox_t *o = s_open();
    relais_client_t *c = s_client(DEAD_ENDPOINT, 30);
    s_put(o, "ML-1", RELAIS_OUTBOX_QUEUED, true);
    s_put(o, "ML-2", RELAIS_OUTBOX_QUEUED, true);
    s_put(o, "ML-3", RELAIS_OUTBOX_QUEUED, true);
    relais_outbox_drain_t d;
    cr_assert_eq(relais_outbox_drain(o, c, 0, NULL, NULL, &d), RELAIS_ETIMEOUT);
    cr_assert_eq(d.sent, 1, "one probe stands for all");
    cr_assert_eq(d.deferred, 3);
    relais_outbox_stats_t st;
    cr_assert_eq(relais_outbox_stats(o, &st), RELAIS_OK);
    cr_assert_eq(st.queued, 3);
    cr_assert_eq(st.retrying, 3);
    cr_assert(st.next_attempt_at_ms >= T0 * 1000 + 800);
    relais_client_destroy(&c);
    relais_outbox_close(&o);
}

/* ---- drain against a scripted peer ------------------------------------------ */

#define PEER_MAX 8

typedef struct {
    void *ctx;
    void *router;
    char endpoint[128];
    const char *script; /* one reply per request: A ack, R ack replay,
                           U Error unavailable, B Error bad_request */
    int n;
    char refs[PEER_MAX][32];
    uint8_t referral[PEER_MAX][512];
    size_t referral_size[PEER_MAX];
    char failure[200];
} s_peer_t;

#define PEER_CHECK(p, cond)                                                                        \
    do {                                                                                           \
        if (!(cond) && !(p)->failure[0])                                                           \
            snprintf((p)->failure, sizeof(p)->failure, "line %d: %s", __LINE__, #cond);            \
    } while (0)

static void s_peer_reply(s_peer_t *p, const uint8_t *id, size_t id_size, const char *request_id,
                         char kind, const char *ref)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__Ack ack = RELAIS__V1__ACK__INIT;
    Relais__V1__Error err = RELAIS__V1__ERROR__INIT;
    env.version = 1;
    env.request_id = (char *)request_id;
    if (kind == 'A' || kind == 'R') {
        ack.partner_ref = (char *)ref;
        ack.status = RELAIS__V1__ACK_STATUS__ACK_ACCEPTED;
        ack.case_id = (char *)"C0000007";
        ack.replay = kind == 'R';
        env.body_case = RELAIS__V1__ENVELOPE__BODY_ACK;
        env.ack = &ack;
    } else {
        err.code = (char *)(kind == 'U' ? "unavailable" : "bad_request");
        err.message = (char *)"scripted";
        env.body_case = RELAIS__V1__ENVELOPE__BODY_ERROR;
        env.error = &err;
    }
    uint8_t buf[512];
    size_t size = relais__v1__envelope__get_packed_size(&env);
    PEER_CHECK(p, size <= sizeof buf);
    if (size > sizeof buf)
        return;
    relais__v1__envelope__pack(&env, buf);
    PEER_CHECK(p, zmq_send(p->router, id, id_size, ZMQ_SNDMORE) == (int)id_size);
    PEER_CHECK(p, zmq_send(p->router, buf, size, 0) == (int)size);
}

static void *s_peer_run(void *arg)
{
    s_peer_t *p = arg;
    for (const char *k = p->script; *k && p->n < PEER_MAX; k++) {
        uint8_t id[256], frame[2048];
        int idn = zmq_recv(p->router, id, sizeof id, 0);
        if (idn < 0)
            break; /* receive timeout: the test sends no more */
        int n = zmq_recv(p->router, frame, sizeof frame, 0);
        PEER_CHECK(p, n > 0 && (size_t)n <= sizeof frame);
        if (n <= 0 || (size_t)n > sizeof frame)
            break;
        Relais__V1__Envelope *env = relais__v1__envelope__unpack(NULL, (size_t)n, frame);
        PEER_CHECK(p, env && env->body_case == RELAIS__V1__ENVELOPE__BODY_REFERRAL);
        if (!env || env->body_case != RELAIS__V1__ENVELOPE__BODY_REFERRAL) {
            if (env)
                relais__v1__envelope__free_unpacked(env, NULL);
            break;
        }
        int i = p->n++;
        snprintf(p->refs[i], sizeof p->refs[i], "%s", env->referral->partner_ref);
        p->referral_size[i] = relais__v1__referral__get_packed_size(env->referral);
        PEER_CHECK(p, p->referral_size[i] <= sizeof p->referral[i]);
        if (p->referral_size[i] <= sizeof p->referral[i])
            relais__v1__referral__pack(env->referral, p->referral[i]);
        s_peer_reply(p, id, (size_t)idn, env->request_id, *k, p->refs[i]);
        relais__v1__envelope__free_unpacked(env, NULL);
    }
    return NULL;
}

static void s_peer_start(s_peer_t *p, const char *script, pthread_t *thread)
{
    memset(p, 0, sizeof *p);
    p->script = script;
    p->ctx = zmq_ctx_new();
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    int linger = 0, rcvtimeo = 2000;
    zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(p->router, ZMQ_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
    cr_assert_eq(zmq_bind(p->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof p->endpoint;
    cr_assert_eq(zmq_getsockopt(p->router, ZMQ_LAST_ENDPOINT, p->endpoint, &len), 0);
    cr_assert_eq(pthread_create(thread, NULL, s_peer_run, p), 0);
}

static void s_peer_stop(s_peer_t *p, pthread_t thread)
{
    pthread_join(thread, NULL);
    zmq_close(p->router);
    zmq_ctx_term(p->ctx);
    cr_assert_eq(p->failure[0], '\0', "peer: %s", p->failure);
}

typedef struct {
    int calls;
    char refs[PEER_MAX][32];
    relais_outbox_state_t states[PEER_MAX];
} s_log_t;

static void s_log(void *arg, const relais_outbox_entry_t *e)
{
    s_log_t *l = arg;
    if (l->calls < PEER_MAX) {
        snprintf(l->refs[l->calls], sizeof l->refs[0], "%s", e->partner_ref);
        l->states[l->calls] = e->state;
    }
    l->calls++;
}

Test(outbox, drain_records_acks_rejects_refusals_and_retries_unavailable)
{
    relais_outbox_t *o = s_open();
    s_put(o, "ML-A", RELAIS_OUTBOX_QUEUED, true);
    s_put(o, "ML-B", RELAIS_OUTBOX_QUEUED, true);
    s_put(o, "ML-C", RELAIS_OUTBOX_QUEUED, true);

    /* Pass 1: A acked, B refused, C "unavailable". */
    s_peer_t peer;
    pthread_t thread;
    s_peer_start(&peer, "ABU", &thread);
    relais_client_t *c = s_client(peer.endpoint, 3000);
    s_log_t log = {0};
    relais_outbox_drain_t d;
    cr_assert_eq(relais_outbox_drain(o, c, 0, s_log, &log, &d), RELAIS_OK);
    relais_client_destroy(&c);
    s_peer_stop(&peer, thread);
    cr_assert_eq(peer.n, 3);
    cr_assert_str_eq(peer.refs[0], "ML-A", "queue order");
    cr_assert_str_eq(peer.refs[1], "ML-B");
    cr_assert_str_eq(peer.refs[2], "ML-C");
    cr_assert_eq(d.sent, 3);
    cr_assert_eq(d.acked, 1);
    cr_assert_eq(d.rejected, 1);
    cr_assert_eq(d.deferred, 1);
    cr_assert_eq(log.calls, 2, "the callback sees acks and refusals");
    cr_assert_str_eq(log.refs[0], "ML-A");
    cr_assert_eq(log.states[0], RELAIS_OUTBOX_ACKED);
    cr_assert_str_eq(log.refs[1], "ML-B");
    cr_assert_eq(log.states[1], RELAIS_OUTBOX_REJECTED);

    s_seen_t a = s_get(o, "ML-A");
    cr_assert_eq(a.state, RELAIS_OUTBOX_ACKED);
    cr_assert_eq(a.ack_status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    cr_assert_str_eq(a.case_id, "C0000007");
    cr_assert_not(a.replay);
    s_seen_t b = s_get(o, "ML-B");
    cr_assert_eq(b.state, RELAIS_OUTBOX_REJECTED);
    cr_assert_str_eq(b.code, "bad_request");
    s_seen_t cc = s_get(o, "ML-C");
    cr_assert_eq(cc.state, RELAIS_OUTBOX_QUEUED);
    cr_assert_str_eq(cc.code, "unavailable");
    cr_assert_eq(cc.attempts, 1);

    /* Nothing is due until C's time: a drain now sends nothing. */
    c = s_client(DEAD_ENDPOINT, 30);
    cr_assert_eq(relais_outbox_drain(o, c, 0, NULL, NULL, &d), RELAIS_OK);
    cr_assert_eq(d.sent, 0);
    relais_client_destroy(&c);

    /* Pass 2, once due: C is resent, the same bytes, and its replayed Ack
     * is recorded like a first one. */
    uint8_t first_bytes[512];
    size_t first_size = peer.referral_size[2];
    memcpy(first_bytes, peer.referral[2], first_size);
    clock_set(cc.next_ms / 1000 + 1);
    s_peer_start(&peer, "R", &thread);
    c = s_client(peer.endpoint, 3000);
    cr_assert_eq(relais_outbox_drain(o, c, 0, NULL, NULL, &d), RELAIS_OK);
    relais_client_destroy(&c);
    s_peer_stop(&peer, thread);
    cr_assert_eq(peer.n, 1, "B is not retried, A is done");
    cr_assert_str_eq(peer.refs[0], "ML-C");
    cr_assert_eq(peer.referral_size[0], first_size);
    cr_assert_eq(memcmp(peer.referral[0], first_bytes, first_size), 0, "the same referral");
    cc = s_get(o, "ML-C");
    cr_assert_eq(cc.state, RELAIS_OUTBOX_ACKED);
    cr_assert(cc.replay);
    cr_assert_eq(cc.attempts, 2);

    relais_outbox_stats_t st;
    cr_assert_eq(relais_outbox_stats(o, &st), RELAIS_OK);
    cr_assert_eq(st.queued, 0);
    cr_assert_eq(st.acked, 2);
    cr_assert_eq(st.rejected, 1);
    cr_assert_eq(st.next_attempt_at_ms, 0);

    /* Acked: a new put is no duplicate.  Rejected: a new put queues it
     * afresh. */
    s_put(o, "ML-A", RELAIS_OUTBOX_ACKED, false);
    s_put(o, "ML-B", RELAIS_OUTBOX_QUEUED, true);
    b = s_get(o, "ML-B");
    cr_assert_eq(b.attempts, 0);
    cr_assert_str_eq(b.code, "");

    s_log_t acked = {0};
    cr_assert_eq(relais_outbox_foreach(o, RELAIS_OUTBOX_ACKED, s_log, &acked), RELAIS_OK);
    cr_assert_eq(acked.calls, 2);
    relais_outbox_close(&o);
}
