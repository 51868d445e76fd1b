/*  Reliability against the real broker: a reply that cannot be delivered
 *  loses nothing; a flooding partner does not starve the others; a backup
 *  taken under load holds every referral acknowledged before it began.
 */
#include "harness.h"
#include "keyfile.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static harness_broker_t B;

static void s_teardown(void)
{
    harness_cleanup(&B);
}

#define ENV_FREE(e) relais__v1__envelope__free_unpacked((e), NULL)

TestSuite(reliability, .fini = s_teardown, .timeout = 240);

static size_t s_pack_referral(harness_ref_t *h, const char *sender, uint8_t *buf, size_t cap)
{
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    env.version = 1;
    env.request_id = "lost-1";
    env.sender = (char *)sender;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_REFERRAL;
    env.referral = &h->r;
    size_t n = relais__v1__envelope__get_packed_size(&env);
    cr_assert(n <= cap);
    return relais__v1__envelope__pack(&env, buf);
}

Test(reliability, an_undeliverable_reply_loses_nothing)
{
    harness_start(&B, NULL);
    harness_ref_t h;
    harness_ref(&h, "LOST-1", "Perdu", "Réponse", "2004-04-04", "Planoise");
    uint8_t buf[2048];
    size_t n = s_pack_referral(&h, "mission-locale", buf, sizeof buf);
    /* Send, then vanish before the reply: the broker's reply finds no
     * peer (ZMQ_ROUTER_MANDATORY: EHOSTUNREACH). */
    char key[400], err[512];
    harness_key_path(&B, "partner", "mission-locale", key, sizeof key);
    keyfile_pair_t pair;
    cr_assert_eq(keyfile_read_secret(key, &pair, err, sizeof err), 0, "%s", err);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, B.broker_public, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pair.public_z85, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, pair.secret_z85, 40);
    cr_assert_eq(zmq_connect(s, B.partner_ep), 0);
    cr_assert(zmq_send(s, buf, n, 0) == (int)n);
    /* Closing with a linger: the request is flushed after the handshake,
     * then the connection goes, before the broker's reply (which waits for
     * the fsync) can come back. */
    zmq_close(s);
    zmq_ctx_term(ctx);

    /* The resend gets the replay: it had been stored. */
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    Relais__V1__Envelope *e;
    Relais__V1__Ack *ack = NULL;
    for (int i = 0; i < 50; i++) {
        ack = harness_submit(ml, &h, &e);
        if (ack->replay)
            break;
        ENV_FREE(e); /* not yet processed when we resent: retry */
        ack = NULL;
        usleep(100 * 1000);
    }
    cr_assert(ack && ack->replay, "the first request was not stored");
    cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
    ENV_FREE(e);
    relais_client_destroy(&ml);
    harness_stop(&B);
    char *log = harness_log(&B);
    cr_assert(strstr(log, "reply not delivered"), "the lost reply was not noticed");
    free(log);
}

typedef struct {
    const char *endpoint;
    int sent;
    char public_z85[41], secret_z85[41], broker_z85[41];
} s_flood_t;

/* A misbehaving partner: sends requests as fast as it can and never reads
 * a reply. */
static void *s_flood(void *arg)
{
    s_flood_t *f = arg;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, hwm = 100000, timeout = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout, sizeof timeout); /* never hang the test */
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, f->broker_z85, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, f->public_z85, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, f->secret_z85, 40);
    zmq_connect(s, f->endpoint);
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    Relais__V1__FetchEvents fe = RELAIS__V1__FETCH_EVENTS__INIT;
    env.sender = "ccas";
    env.request_id = "flood";
    env.body_case = RELAIS__V1__ENVELOPE__BODY_FETCH_EVENTS;
    env.fetch_events = &fe;
    uint8_t buf[128];
    size_t n = relais__v1__envelope__pack(&env, buf);
    for (f->sent = 0; f->sent < 50000; f->sent++)
        if (zmq_send(s, buf, n, 0) < 0)
            break;
    sleep(2);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return NULL;
}

Test(reliability, a_flooding_partner_does_not_starve_the_others)
{
    harness_start(&B, NULL);
    s_flood_t f = {B.partner_ep, 0, "", "", ""};
    char key[400], err[512];
    keyfile_pair_t pair;
    harness_key_path(&B, "partner", "ccas", key, sizeof key);
    cr_assert_eq(keyfile_read_secret(key, &pair, err, sizeof err), 0, "%s", err);
    memcpy(f.public_z85, pair.public_z85, 40);
    memcpy(f.secret_z85, pair.secret_z85, 40);
    memcpy(f.broker_z85, B.broker_public, 40);
    pthread_t t;
    pthread_create(&t, NULL, s_flood, &f);
    usleep(300 * 1000); /* the flood is under way */
    relais_client_t *ml = harness_partner(&B, "mission-locale");
    for (int i = 0; i < 5; i++) {
        char ref[16], last[48], first[24], birth[11];
        snprintf(ref, sizeof ref, "FAIR-%d", i);
        harness_person((unsigned)i, last, first, birth);
        harness_ref_t h;
        harness_ref(&h, ref, last, first, birth, "Centre");
        Relais__V1__Envelope *e;
        /* harness_submit asserts an answer within the client's timeout
         * (5 s x 2 attempts) while the flood goes on. */
        Relais__V1__Ack *ack = harness_submit(ml, &h, &e);
        cr_assert_eq(ack->status, RELAIS__V1__ACK_STATUS__ACK_ACCEPTED);
        ENV_FREE(e);
    }
    pthread_join(t, NULL);
    cr_assert_gt(f.sent, 10000, "the flood did not flood");
    relais_client_destroy(&ml);
    harness_stop(&B);
}

typedef struct {
    harness_broker_t *b;
    int acked;
    volatile int stop;
} s_load_t;

static void *s_load(void *arg)
{
    s_load_t *l = arg;
    relais_client_t *c = harness_partner(l->b, "rectorat");
    for (int i = 0; !l->stop && i < 2000; i++) {
        char ref[16], last[48], first[24], birth[11];
        snprintf(ref, sizeof ref, "BK-%d", i);
        harness_person((unsigned)i, last, first, birth);
        harness_ref_t h;
        harness_ref(&h, ref, last, first, birth, "Centre");
        Relais__V1__Envelope *e;
        if (relais_client_submit(c, &h.r, &e) != RELAIS_OK)
            break;
        ENV_FREE(e);
        __atomic_store_n(&l->acked, i + 1, __ATOMIC_SEQ_CST);
    }
    relais_client_destroy(&c);
    return NULL;
}

Test(reliability, a_backup_under_load_holds_everything_acknowledged_before_it)
{
    harness_start(&B, NULL);
    s_load_t l = {&B, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, s_load, &l);
    while (__atomic_load_n(&l.acked, __ATOMIC_SEQ_CST) < 100)
        usleep(10 * 1000);
    int before = __atomic_load_n(&l.acked, __ATOMIC_SEQ_CST);
    char dest[400], cmd[1200];
    snprintf(dest, sizeof dest, "%s/backup", B.dir);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' backup '%s' >'%s/backup.out' 2>&1",
             RELAIS_ADMIN_BIN, B.data, dest, B.dir);
    cr_assert_eq(system(cmd), 0, "relais-admin backup failed (see %s/backup.out)", B.dir);
    usleep(200 * 1000);
    l.stop = 1;
    pthread_join(t, NULL);
    cr_assert_gt(l.acked, before, "the load went on during the backup");
    harness_stop(&B);

    /* A broker on the backup: every referral acknowledged before the
     * backup began is there (its resend is a replay). */
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mv '%s' '%s'", B.data, dest, B.data);
    cr_assert_eq(system(cmd), 0);
    harness_restart(&B);
    relais_client_t *c = harness_partner(&B, "rectorat");
    for (int i = 0; i < before; i++) {
        char ref[16], last[48], first[24], birth[11];
        snprintf(ref, sizeof ref, "BK-%d", i);
        harness_person((unsigned)i, last, first, birth);
        harness_ref_t h;
        harness_ref(&h, ref, last, first, birth, "Centre");
        Relais__V1__Envelope *e;
        Relais__V1__Ack *ack = harness_submit(c, &h, &e);
        cr_assert(ack->replay, "%s acknowledged before the backup is missing from it", ref);
        ENV_FREE(e);
    }
    relais_client_destroy(&c);
    harness_stop(&B);
}
