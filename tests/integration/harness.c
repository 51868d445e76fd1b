/*  harness — start/stop the real broker for integration tests.  See
 *  harness.h. */
#include "harness.h"

#include "date.h"
#include "config.h"
#include "keyfile.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* A TCP port free right now on 127.0.0.1, as the kernel picks one.  The
 * broker binds it a moment later; if another process took it meanwhile,
 * the broker exits and harness_start tries again with new ports. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0, "no free port: %s",
              strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}
/* The last broker started: harness_raw's keys. */
static const harness_broker_t *s_current = NULL;

static void s_pick_ports(harness_broker_t *b)
{
    snprintf(b->partner_ep, sizeof b->partner_ep, "tcp://127.0.0.1:%d", s_free_port());
    snprintf(b->coordinator_ep, sizeof b->coordinator_ep, "tcp://127.0.0.1:%d", s_free_port());
}

static pid_t s_spawn(harness_broker_t *b)
{
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        /* A test that crashes must not leave its broker behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        setenv("RELAIS_NOW", b->now, 1);
        /* RELAIS_BROKER_WRAPPER="valgrind --leak-check=full --error-exitcode=99"
         * runs the broker under a tool; harness_stop then fails the test on
         * any leak or error the tool reports. */
        char secret[320];
        snprintf(secret, sizeof secret, "%s/broker.key", b->keys);
        const char *wrapper = getenv("RELAIS_BROKER_WRAPPER");
        if (wrapper && *wrapper) {
            char cmd[2048], keys[700];
            if (b->insecure)
                snprintf(keys, sizeof keys, "--insecure-dev");
            else
                snprintf(keys, sizeof keys, "--secret-key '%s' --keys '%s'", secret,
                         b->authorized_keys);
            snprintf(cmd, sizeof cmd, "exec %s '%s' --data '%s' %s%s%s --partner-endpoint '%s' "
                     "--coordinator-endpoint '%s' %s", wrapper, RELAIS_BROKER_BIN, b->data,
                     *b->config ? "--config '" : "", b->config, *b->config ? "'" : "",
                     b->partner_ep, b->coordinator_ep, keys);
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
        const char *argv[16];
        int n = 0;
        argv[n++] = "relais-broker";
        argv[n++] = "--data";
        argv[n++] = b->data;
        if (*b->config) {
            argv[n++] = "--config";
            argv[n++] = b->config;
        }
        argv[n++] = "--partner-endpoint";
        argv[n++] = b->partner_ep;
        argv[n++] = "--coordinator-endpoint";
        argv[n++] = b->coordinator_ep;
        if (b->insecure) {
            argv[n++] = "--insecure-dev";
        } else {
            argv[n++] = "--secret-key";
            argv[n++] = secret;
            argv[n++] = "--keys";
            argv[n++] = b->authorized_keys;
        }
        argv[n] = NULL;
        execv(RELAIS_BROKER_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits until the broker answers a request on the partner endpoint.
 * Returns 1 when up, 0 when the process died (port taken...). */
static int s_wait_up(harness_broker_t *b)
{
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
            b->pid = 0;
            return 0;
        }
        relais_client_t *c = harness_partner(b, "mission-locale");
        relais_client_set_timeout(c, 200, 1);
        Relais__V1__Envelope *reply = NULL;
        int rc = relais_client_fetch_events(c, UINT64_MAX - 1, 1, &reply);
        if (reply)
            relais__v1__envelope__free_unpacked(reply, NULL);
        relais_client_destroy(&c);
        if (rc == RELAIS_OK || rc == RELAIS_EBROKER)
            return 1;
    }
    cr_assert_fail("the broker did not answer within 20 s (log: %s)", b->log);
    return 0;
}

/* Writes a new key pair at DIR/keys/NAME.key; its public key in PUB. */
static void s_make_key(const harness_broker_t *b, const char *name, char *pub)
{
    char path[400], err[512];
    keyfile_pair_t pair;
    snprintf(path, sizeof path, "%s/%s.key", b->keys, name);
    cr_assert_eq(keyfile_generate(&pair, err, sizeof err), 0, "%s", err);
    cr_assert_eq(keyfile_write(path, &pair, err, sizeof err), 0, "%s", err);
    memcpy(pub, pair.public_z85, sizeof pair.public_z85);
}

/* The broker's key and one per configured identity, and the
 * authorized-keys file listing them. */
static void s_make_keys(harness_broker_t *b, const char *config_text)
{
    char err[512], pub[41], name[128];
    snprintf(b->keys, sizeof b->keys, "%s/keys", b->dir);
    snprintf(b->authorized_keys, sizeof b->authorized_keys, "%s/authorized_keys", b->keys);
    cr_assert_eq(mkdir(b->keys, 0700), 0, "mkdir %s: %s", b->keys, strerror(errno));
    config_t *cfg = config_text ? config_load_string(config_text, "test", err, sizeof err)
                                : config_load_default(err, sizeof err);
    cr_assert(cfg, "config: %s", err);
    s_make_key(b, "broker", b->broker_public);
    FILE *f = fopen(b->authorized_keys, "w");
    cr_assert(f);
    fprintf(f, "# made by the test harness\n");
    for (size_t i = 0; i < cfg->n_partners; i++) {
        snprintf(name, sizeof name, "partner-%s", cfg->partners[i].id);
        s_make_key(b, name, pub);
        fprintf(f, "partner %s %s\n", cfg->partners[i].id, pub);
    }
    for (size_t i = 0; i < cfg->n_structures; i++) {
        snprintf(name, sizeof name, "coordinator-%s", cfg->structures[i].id);
        s_make_key(b, name, pub);
        fprintf(f, "coordinator %s %s\n", cfg->structures[i].id, pub);
    }
    s_make_key(b, "staff-" HARNESS_STAFF_ID, pub);
    fprintf(f, "staff %s %s\n", HARNESS_STAFF_ID, pub);
    fclose(f);
    config_free(&cfg);
}

static void s_start(harness_broker_t *b, const char *config_text, bool insecure)
{
    memset(b, 0, sizeof *b);
    b->now = HARNESS_NOW;
    b->insecure = insecure;
    snprintf(b->dir, sizeof b->dir, "/tmp/relais-it-XXXXXX");
    cr_assert(mkdtemp(b->dir), "mkdtemp: %s", strerror(errno));
    snprintf(b->data, sizeof b->data, "%s/data", b->dir);
    snprintf(b->log, sizeof b->log, "%s/broker.log", b->dir);
    if (config_text) {
        snprintf(b->config, sizeof b->config, "%s/relais.conf", b->dir);
        FILE *f = fopen(b->config, "w");
        cr_assert(f);
        fputs(config_text, f);
        fclose(f);
    }
    if (!insecure)
        s_make_keys(b, config_text);
    s_current = b;
    for (int attempt = 0; attempt < 10; attempt++) {
        s_pick_ports(b);
        b->pid = s_spawn(b);
        if (s_wait_up(b))
            return;
    }
    cr_assert_fail("the broker would not start (log: %s)", b->log);
}

void harness_start(harness_broker_t *b, const char *config_text)
{
    s_start(b, config_text, false);
}

void harness_start_insecure(harness_broker_t *b, const char *config_text)
{
    s_start(b, config_text, true);
}

void harness_restart(harness_broker_t *b)
{
    cr_assert_eq(b->pid, 0, "restart of a running broker");
    b->pid = s_spawn(b);
    cr_assert(s_wait_up(b), "the broker did not come back (log: %s)", b->log);
}

void harness_stop(harness_broker_t *b)
{
    if (!b->pid)
        return;
    int status;
    kill(b->pid, SIGTERM);
    cr_assert_eq(waitpid(b->pid, &status, 0), b->pid);
    b->pid = 0;
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the broker did not stop cleanly (status %d, log %s)", status, b->log);
}

void harness_kill(harness_broker_t *b)
{
    if (!b->pid)
        return;
    int status;
    kill(b->pid, SIGKILL);
    waitpid(b->pid, &status, 0);
    b->pid = 0;
}

void harness_cleanup(harness_broker_t *b)
{
    if (b->pid)
        harness_kill(b);
    /* RELAIS_TEST_KEEP=1 keeps the directory (data and broker.log) for a
     * post-mortem. */
    const char *keep = getenv("RELAIS_TEST_KEEP");
    if (*b->dir && keep && *keep == '1') {
        fprintf(stderr, "harness: kept %s\n", b->dir);
    } else if (*b->dir) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", b->dir);
    }
}

char *harness_config_with(const char *from, const char *to)
{
    FILE *f = fopen(RELAIS_SOURCE_DIR "/deploy/relais.conf", "r");
    cr_assert(f, "cannot read deploy/relais.conf");
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, from);
    cr_assert(at, "'%s' not in relais.conf", from);
    char *out = malloc(n + strlen(to) + 1);
    cr_assert(out);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

char *harness_log(const harness_broker_t *b)
{
    FILE *f = fopen(b->log, "r");
    cr_assert(f, "no broker log");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    cr_assert(buf);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        cr_assert_fail("short read of the broker log");
    fclose(f);
    return buf;
}

void harness_key_path(const harness_broker_t *b, const char *role, const char *id, char *out,
                      size_t outlen)
{
    snprintf(out, outlen, "%s/%s-%s.key", b->keys, role, id);
}

void harness_new_key(const harness_broker_t *b, const char *name, char *public_z85)
{
    s_make_key(b, name, public_z85);
}

relais_client_t *harness_client_keyed(const harness_broker_t *b, const char *endpoint,
                                      const char *sender, const char *key_file, bool fast)
{
    char err[512];
    relais_client_t *c = relais_client_new(endpoint, sender, err, sizeof err);
    cr_assert(c, "client: %s", err);
    if (key_file) {
        keyfile_pair_t pair;
        cr_assert_eq(keyfile_read_secret(key_file, &pair, err, sizeof err), 0, "%s", err);
        cr_assert_eq(relais_client_set_curve(c, pair.secret_z85, b->broker_public), RELAIS_OK,
                     "%s", relais_client_last_error(c));
    }
    if (fast)
        relais_client_set_timeout(c, 500, 1);
    else
        relais_client_set_timeout(c, 5000, 2);
    return c;
}

static relais_client_t *s_client(const harness_broker_t *b, const char *ep, const char *role,
                                 const char *id)
{
    char key[400];
    harness_key_path(b, role, id, key, sizeof key);
    return harness_client_keyed(b, ep, id, b->insecure ? NULL : key, false);
}

relais_client_t *harness_partner(const harness_broker_t *b, const char *partner_id)
{
    return s_client(b, b->partner_ep, "partner", partner_id);
}

relais_client_t *harness_coordinator(const harness_broker_t *b, const char *structure_id)
{
    return s_client(b, b->coordinator_ep, "coordinator", structure_id);
}

relais_client_t *harness_staff(const harness_broker_t *b, const char *staff_id)
{
    return s_client(b, b->coordinator_ep, "staff", staff_id);
}

char *harness_authorized_keys(const harness_broker_t *b)
{
    FILE *f = fopen(b->authorized_keys, "r");
    cr_assert(f, "no authorized_keys");
    char *buf = calloc(1, 65536);
    cr_assert(buf);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

void harness_reload_keys(harness_broker_t *b, const char *text)
{
    /* Written aside and renamed: the broker never reads half a file. */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.new", b->authorized_keys);
    FILE *f = fopen(tmp, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(rename(tmp, b->authorized_keys), 0);
    char *before = harness_log(b);
    size_t seen = 0;
    for (const char *p = before; (p = strstr(p, "authorized keys reloaded")); p++)
        seen++;
    free(before);
    kill(b->pid, SIGHUP);
    for (int i = 0; i < 200; i++) {
        char *log = harness_log(b);
        size_t now = 0;
        for (const char *p = log; (p = strstr(p, "authorized keys reloaded")); p++)
            now++;
        free(log);
        if (now > seen)
            return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("the broker did not log the reload (log: %s)", b->log);
}

void harness_person(unsigned i, char last[48], char first[24], char birth[11])
{
    static const char *const syl[16] = {"ka", "lo", "mi", "du", "ber", "san", "tor", "vel",
                                        "ni", "ro", "gu", "fa", "che", "pi", "zo", "mar"};
    static const char *const firsts[40] = {
        "Lucas", "Emma", "Yanis", "Inès", "Mamadou", "Léa", "Rayan", "Chloé", "Adam", "Sarah",
        "Hugo", "Aïcha", "Nathan", "Manon", "Karim", "Camille", "Théo", "Fatou", "Enzo",
        "Lina", "Bilal", "Jade", "Moussa", "Clara", "Ilyes", "Zoé", "Tom", "Yasmine", "Amine",
        "Louise", "Kevin", "Mariam", "Noah", "Eva", "Sofiane", "Anaïs", "Malik", "Julie",
        "Elif", "Ioana"};
    unsigned v = i;
    last[0] = '\0';
    for (int k = 0; k < 4; k++, v /= 16)
        strcat(last, syl[v % 16]);
    last[0] = (char)(last[0] - 'a' + 'A');
    snprintf(first, 24, "%s", firsts[i % 40]);
    /* 2001-11-20 .. 2007-11-15: 19 to 25 on 2026-11-16; spread so that
     * neighbours in I are years apart. */
    date_t d = date_from_days(date_to_days((date_t){2001, 11, 20}) + (int64_t)((i * 7919u) % 2186u));
    date_format(d, birth);
}

void harness_ref(harness_ref_t *h, const char *partner_ref, const char *last,
                 const char *first, const char *birth_date, const char *quartier)
{
    memset(h, 0, sizeof *h);
    relais__v1__referral__init(&h->r);
    relais__v1__person__init(&h->p);
    h->r.partner_ref = (char *)partner_ref;
    h->r.person = &h->p;
    h->p.last_name = (char *)last;
    h->p.first_names = (char *)first;
    h->p.birth_date = (char *)birth_date;
    h->p.postcode = "25000";
    h->p.city = "Besançon";
    h->p.quartier = (char *)quartier;
    h->r.consent = true;
    h->r.referred_on = HARNESS_REFERRED_ON;
    h->r.benefits = h->benefits;
    h->r.needs = h->needs;
}

Relais__V1__Ack *harness_submit(relais_client_t *c, harness_ref_t *h,
                                Relais__V1__Envelope **hold)
{
    int rc = relais_client_submit(c, &h->r, hold);
    cr_assert_eq(rc, RELAIS_OK, "submit %s: %d %s", h->r.partner_ref, rc,
                 relais_client_last_error(c));
    cr_assert_eq((*hold)->body_case, RELAIS__V1__ENVELOPE__BODY_ACK);
    return (*hold)->ack;
}

Relais__V1__ActionResult *harness_act(relais_client_t *c, const char *case_id,
                                      Relais__V1__ActionKind kind, Relais__V1__CaseState milestone,
                                      Relais__V1__Outcome outcome, const char *reason,
                                      Relais__V1__Envelope **hold)
{
    Relais__V1__CaseAction a = RELAIS__V1__CASE_ACTION__INIT;
    a.case_id = (char *)case_id;
    a.kind = kind;
    a.milestone = milestone;
    a.outcome = outcome;
    a.reason = (char *)(reason ? reason : "");
    int rc = relais_client_act(c, &a, hold);
    cr_assert_eq(rc, RELAIS_OK, "act on %s: %d %s", case_id, rc, relais_client_last_error(c));
    cr_assert_eq((*hold)->body_case, RELAIS__V1__ENVELOPE__BODY_ACTION_RESULT);
    return (*hold)->action_result;
}

Relais__V1__Envelope *harness_raw(const char *endpoint, const void *data, size_t len,
                                  int n_frames, int timeout_ms)
{
    const harness_broker_t *b = s_current;
    cr_assert(b, "harness_raw before harness_start");
    char key[400];
    bool partner = strcmp(endpoint, b->partner_ep) == 0;
    harness_key_path(b, partner ? "partner" : "coordinator",
                     partner ? "mission-locale" : "asq-planoise", key, sizeof key);
    return harness_raw_keyed(b, endpoint, b->insecure ? NULL : key, data, len, n_frames,
                             timeout_ms);
}

Relais__V1__Envelope *harness_raw_keyed(const harness_broker_t *b, const char *endpoint,
                                        const char *key_file, const void *data, size_t len,
                                        int n_frames, int timeout_ms)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (key_file) {
        char err[512];
        keyfile_pair_t pair;
        cr_assert_eq(keyfile_read_secret(key_file, &pair, err, sizeof err), 0, "%s", err);
        cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, b->broker_public, 40), 0);
        cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pair.public_z85, 40), 0);
        cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, pair.secret_z85, 40), 0);
    }
    cr_assert_eq(zmq_connect(s, endpoint), 0);
    for (int i = 0; i < n_frames; i++)
        cr_assert(zmq_send(s, data, len, i + 1 < n_frames ? ZMQ_SNDMORE : 0) >= 0);
    Relais__V1__Envelope *env = NULL;
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) == 1) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) >= 0)
            env = relais__v1__envelope__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return env;
}
