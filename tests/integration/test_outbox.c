/*  The partner outbox against the real broker: relais-agent run as a
 *  process (the binary the build produced), on its own state directory,
 *  with the real broker stopped, started, and the agent SIGKILLed.
 *
 *  What is proven: submit queues durably and exits 0 with the broker
 *  down; `run` delivers everything once it is back; an Ack the broker had
 *  already given (the reply "lost": the rows went first through the plain
 *  client) is recorded as acknowledged with replay = true; an agent killed
 *  between queueing and delivery delivers after a restart; a refusal is
 *  recorded as rejected and not retried; the library's drain does the
 *  same for a partner's own program.  And through the broker itself (its
 *  event feed), that no referral was ever counted twice: one case, one
 *  "routed" event per partner_ref.
 */
#include "harness.h"
#include "relais_outbox.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static harness_broker_t B;
static char s_state[400]; /* the agents' --state-dir */

static void s_teardown(void)
{
    harness_cleanup(&B);
}

TestSuite(outbox, .fini = s_teardown, .timeout = 180);

#define ROWS 5

/* ---- helpers ------------------------------------------------------------------ */

static void s_start(void)
{
    harness_start(&B, NULL);
    snprintf(s_state, sizeof s_state, "%s/agent-state", B.dir);
}

static char *s_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    cr_assert_not_null(buf);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        cr_assert_fail("short read of %s", path);
    fclose(f);
    return buf;
}

static size_t s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Starts relais-agent as PARTNER on B's partner endpoint and s_state, with
 * ARGS (NULL-terminated), stdout to OUT and stderr to OUT.err. */
static pid_t s_agent_spawn(const char *partner, const char *out, const char *const *args)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = "relais-agent";
    argv[n++] = "--broker";
    argv[n++] = B.partner_ep;
    argv[n++] = "--as";
    argv[n++] = partner;
    argv[n++] = "--state-dir";
    argv[n++] = s_state;
    argv[n++] = "--timeout";
    argv[n++] = "300";
    /* The partner's own key when it has one (configured partners), else
     * mission-locale's: a partner that is not who its key says. */
    static char key[400];
    harness_key_path(&B, "partner", partner, key, sizeof key);
    if (access(key, R_OK) != 0)
        harness_key_path(&B, "partner", "mission-locale", key, sizeof key);
    argv[n++] = "--key";
    argv[n++] = key;
    argv[n++] = "--broker-key";
    argv[n++] = B.broker_public;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char err_path[512];
    snprintf(err_path, sizeof err_path, "%s.err", out);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || fe < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(fe, 2);
        close(fd);
        close(fe);
        execv(RELAIS_AGENT_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int s_wait_exit(pid_t pid)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Runs relais-agent to completion; its stdout in *OUTPUT (caller frees). */
static int s_agent(const char *partner, const char *name, const char *const *args, char **output)
{
    char out[512];
    snprintf(out, sizeof out, "%s/%s.out", B.dir, name);
    int status = s_wait_exit(s_agent_spawn(partner, out, args));
    *output = s_read(out);
    return status;
}

/* `relais-agent --json status`, parsed. */
typedef struct {
    long queued, retrying, acknowledged, rejected;
} s_status_t;

static s_status_t s_status(const char *partner)
{
    char *out = NULL;
    int rc = s_agent(partner, "status", (const char *const[]){"--json", "status", NULL}, &out);
    cr_assert_eq(rc, 0, "status exit %d", rc);
    json_error_t jerr;
    /* The counts are the first line; rejected entries follow, one a line. */
    json_t *obj = json_loadb(out, strcspn(out, "\n"), 0, &jerr);
    cr_assert_not_null(obj, "status output: %s", out);
    s_status_t st = {
        .queued = (long)json_integer_value(json_object_get(obj, "queued")),
        .retrying = (long)json_integer_value(json_object_get(obj, "retrying")),
        .acknowledged = (long)json_integer_value(json_object_get(obj, "acknowledged")),
        .rejected = (long)json_integer_value(json_object_get(obj, "rejected")),
    };
    json_decref(obj);
    free(out);
    return st;
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Five eligible young people, distinct, ML-OB-1..5. */
static const char *s_refs[ROWS] = {"ML-OB-1", "ML-OB-2", "ML-OB-3", "ML-OB-4", "ML-OB-5"};
static const char *s_last[ROWS] = {"Durand", "Lefebvre", "Moreau", "Girard", "Bonnet"};
static const char *s_first[ROWS] = {"Inès", "Yanis", "Chloé", "Karim", "Manon"};
static const char *s_birth[ROWS] = {"2004-01-11", "2003-02-12", "2005-03-13", "2002-04-14",
                                    "2006-05-15"};

static void s_write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "partner_ref,last_name,first_names,birth_date,consent,postcode,city,quartier,"
               "referred_on\n");
    for (int i = 0; i < ROWS; i++)
        fprintf(f, "%s,%s,%s,%s,yes,25000,Besançon,Planoise,%s\n", s_refs[i], s_last[i], s_first[i],
                s_birth[i], HARNESS_REFERRED_ON);
    fclose(f);
}

static void s_csv_path(char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/referrals.csv", B.dir);
    s_write_csv(out);
}

/* The broker's own account: PARTNER's feed holds exactly one "routed"
 * event per partner_ref (a referral counted twice would open or route a
 * second case), and nothing for any other ref. */
static void s_assert_counted_once(const char *partner)
{
    relais_client_t *c = harness_partner(&B, partner);
    Relais__V1__Envelope *hold = NULL;
    int rc = relais_client_fetch_events(c, 0, 1000, &hold);
    cr_assert_eq(rc, RELAIS_OK, "fetch events: %s", relais_client_last_error(c));
    const Relais__V1__Events *ev = hold->events;
    for (int i = 0; i < ROWS; i++) {
        int routed = 0;
        for (size_t j = 0; ev && j < ev->n_events; j++)
            if (strcmp(ev->events[j]->partner_ref, s_refs[i]) == 0 &&
                ev->events[j]->state == RELAIS__V1__CASE_STATE__CASE_ROUTED)
                routed++;
        cr_assert_eq(routed, 1, "%s: %d routed events (want 1)", s_refs[i], routed);
    }
    cr_assert_eq(ev->n_events, ROWS, "one event per referral, got %zu", ev->n_events);
    relais__v1__envelope__free_unpacked(hold, NULL);
    relais_client_destroy(&c);
}

/* Polls `status` until nothing is queued (or fails after ~30 s). */
static s_status_t s_wait_drained(const char *partner)
{
    s_status_t st = {0};
    for (int i = 0; i < 150; i++) {
        st = s_status(partner);
        if (st.queued == 0)
            return st;
        s_sleep_ms(200);
    }
    cr_assert_fail("still %ld queued after 30 s", st.queued);
    return st;
}

static void s_stop_run(pid_t run)
{
    kill(run, SIGTERM);
    cr_assert_eq(s_wait_exit(run), 0, "run stops cleanly on SIGTERM");
}

/* ---- tests --------------------------------------------------------------------- */

Test(outbox, broker_down_submit_queues_then_run_delivers_all)
{
    char csv[512], *out = NULL;
    s_start();
    s_csv_path(csv, sizeof csv);
    harness_stop(&B);

    int rc = s_agent("mission-locale", "submit",
                     (const char *const[]){"submit", "--csv", csv, "--wait", "1", NULL}, &out);
    cr_assert_eq(rc, 0, "submit with the broker down exits 0 (queued), got %d: %s", rc, out);
    cr_assert(strstr(out, "queued 5 rows durably in "), "%s", out);
    cr_assert(strstr(out, "0 acknowledged, 5 still queued (will be retried by 'relais-agent run' "
                          "or the next submit)"),
              "%s", out);
    free(out);
    s_status_t st = s_status("mission-locale");
    cr_assert_eq(st.queued, ROWS);
    cr_assert_eq(st.acknowledged, 0);

    harness_restart(&B);
    char run_out[512];
    snprintf(run_out, sizeof run_out, "%s/run.out", B.dir);
    pid_t run =
        s_agent_spawn("mission-locale", run_out, (const char *const[]){"run", "--poll", "1", NULL});
    st = s_wait_drained("mission-locale");
    cr_assert_eq(st.acknowledged, ROWS);
    cr_assert_eq(st.rejected, 0);
    s_sleep_ms(1500); /* one events poll after the last delivery */
    s_stop_run(run);
    out = s_read(run_out);
    cr_assert_eq(s_count(out, "line -"), ROWS, "run prints each answer: %s", out);
    cr_assert_eq(s_count(out, "accepted"), ROWS, "%s", out);
    cr_assert_eq(s_count(out, "seq "), ROWS, "run prints the news too: %s", out);
    free(out);
    s_assert_counted_once("mission-locale");

    /* Submitting the file again sends nothing: the recorded answers come
     * back as replays. */
    rc = s_agent("mission-locale", "again", (const char *const[]){"submit", "--csv", csv, NULL},
                 &out);
    cr_assert_eq(rc, 0);
    cr_assert_eq(s_count(out, "  replay\n"), ROWS, "%s", out);
    cr_assert(strstr(out, "5 acknowledged, 0 still queued"), "%s", out);
    free(out);
    s_assert_counted_once("mission-locale");
}

typedef struct {
    int state;
    bool replay;
    char case_id[32];
} s_seen_t;

static void s_copy(void *arg, const relais_outbox_entry_t *e)
{
    s_seen_t *seen = arg;
    seen->state = (int)e->state;
    seen->replay = e->ack && e->ack->replay;
    snprintf(seen->case_id, sizeof seen->case_id, "%s", e->ack ? e->ack->case_id : "");
}

Test(outbox, replayed_ack_is_recorded_as_acknowledged_with_replay)
{
    char csv[512], *out = NULL;
    char case_ids[ROWS][32];
    s_start();
    s_csv_path(csv, sizeof csv);

    /* The broker gets every row first through the plain client: as if the
     * outbox had sent them and lost the replies. */
    relais_client_t *c = harness_partner(&B, "mission-locale");
    for (int i = 0; i < ROWS; i++) {
        harness_ref_t h;
        Relais__V1__Envelope *hold = NULL;
        harness_ref(&h, s_refs[i], s_last[i], s_first[i], s_birth[i], "Planoise");
        Relais__V1__Ack *ack = harness_submit(c, &h, &hold);
        cr_assert_not(ack->replay);
        snprintf(case_ids[i], sizeof case_ids[i], "%s", ack->case_id);
        relais__v1__envelope__free_unpacked(hold, NULL);
    }
    relais_client_destroy(&c);

    int rc = s_agent("mission-locale", "submit",
                     (const char *const[]){"submit", "--csv", csv, NULL}, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_eq(s_count(out, "  replay\n"), ROWS, "%s", out);
    cr_assert(strstr(out, "5 acknowledged, 0 still queued"), "%s", out);
    free(out);
    s_status_t st = s_status("mission-locale");
    cr_assert_eq(st.acknowledged, ROWS);
    cr_assert_eq(st.queued, 0);

    /* What the outbox kept: the broker's Ack, replay flag and all. */
    char err[256];
    relais_outbox_t *o = relais_outbox_open(s_state, "mission-locale", err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    for (int i = 0; i < ROWS; i++) {
        s_seen_t seen = {0};
        cr_assert_eq(relais_outbox_get(o, s_refs[i], s_copy, &seen), RELAIS_OK);
        cr_assert_eq(seen.state, RELAIS_OUTBOX_ACKED);
        cr_assert(seen.replay, "%s: replay recorded", s_refs[i]);
        cr_assert_str_eq(seen.case_id, case_ids[i], "the same case as the first answer");
    }
    relais_outbox_close(&o);
    s_assert_counted_once("mission-locale");
}

Test(outbox, agent_killed_between_queueing_and_delivery_delivers_after_restart)
{
    char csv[512];
    s_start();
    s_csv_path(csv, sizeof csv);
    harness_stop(&B);

    /* A submit that would wait long: killed once its rows are queued. */
    char sub_out[512];
    snprintf(sub_out, sizeof sub_out, "%s/killed.out", B.dir);
    pid_t sub = s_agent_spawn("mission-locale", sub_out,
                              (const char *const[]){"submit", "--csv", csv, "--wait", "120", NULL});
    char *out = NULL;
    for (int i = 0; i < 100; i++) {
        free(out);
        out = s_read(sub_out);
        if (strstr(out, "queued 5 rows durably"))
            break;
        s_sleep_ms(100);
    }
    cr_assert(strstr(out, "queued 5 rows durably"), "%s", out);
    free(out);
    kill(sub, SIGKILL);
    cr_assert_eq(s_wait_exit(sub), 128 + SIGKILL);

    harness_restart(&B);
    char run_out[512];
    snprintf(run_out, sizeof run_out, "%s/run.out", B.dir);
    pid_t run =
        s_agent_spawn("mission-locale", run_out, (const char *const[]){"run", "--poll", "1", NULL});
    s_status_t st = s_wait_drained("mission-locale");
    s_stop_run(run);
    cr_assert_eq(st.acknowledged, ROWS);
    s_assert_counted_once("mission-locale");
}

Test(outbox, refusal_is_recorded_as_rejected_and_not_retried)
{
    char csv[512], *out = NULL;
    s_start();
    s_csv_path(csv, sizeof csv);
    /* "nobody" with mission-locale's key: not who its key says, the broker
     * answers Error forbidden, a permanent refusal. */
    int rc = s_agent("nobody", "submit", (const char *const[]){"submit", "--csv", csv, NULL}, &out);
    cr_assert_eq(rc, 3, "a refusal keeps exit status 3, got %d: %s", rc, out);
    cr_assert_eq(s_count(out, "error: broker error forbidden"), ROWS, "%s", out);
    cr_assert(strstr(out, "0 acknowledged, 0 still queued"), "%s", out);
    free(out);
    s_status_t st = s_status("nobody");
    cr_assert_eq(st.rejected, ROWS);
    cr_assert_eq(st.queued, 0, "a refusal is not retried");
    rc = s_agent("nobody", "status-text", (const char *const[]){"status", NULL}, &out);
    cr_assert_eq(rc, 0);
    cr_assert_eq(s_count(out, "rejected forbidden"), ROWS, "status lists them: %s", out);
    free(out);
}

Test(outbox, library_drain_delivers_and_records_acks)
{
    char err[256];
    s_start();
    relais_outbox_t *o = relais_outbox_open(s_state, "mission-locale", err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    for (int i = 0; i < ROWS; i++) {
        harness_ref_t h;
        harness_ref(&h, s_refs[i], s_last[i], s_first[i], s_birth[i], "Planoise");
        cr_assert_eq(relais_outbox_put(o, &h.r, NULL, NULL), RELAIS_OK, "%s",
                     relais_outbox_last_error(o));
    }
    relais_client_t *c = harness_partner(&B, "mission-locale");
    relais_outbox_drain_t d;
    cr_assert_eq(relais_outbox_drain(o, c, 0, NULL, NULL, &d), RELAIS_OK, "%s",
                 relais_client_last_error(c));
    cr_assert_eq(d.sent, ROWS);
    cr_assert_eq(d.acked, ROWS);
    relais_outbox_stats_t st;
    cr_assert_eq(relais_outbox_stats(o, &st), RELAIS_OK);
    cr_assert_eq(st.acked, ROWS);
    cr_assert_eq(st.queued, 0);
    /* A second drain has nothing to send. */
    cr_assert_eq(relais_outbox_drain(o, c, 0, NULL, NULL, &d), RELAIS_OK);
    cr_assert_eq(d.sent, 0);
    relais_client_destroy(&c);
    relais_outbox_close(&o);
    s_assert_counted_once("mission-locale");
}
