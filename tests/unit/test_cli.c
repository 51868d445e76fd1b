/*  test_cli — what the command-line side can prove without a broker.
 *
 *  - the shared option helpers and exit statuses (cli.h);
 *  - the text and JSON renderings of an Ack, an event, a case and an
 *    action result: these formats are what partners' scripts parse, so the
 *    tests pin them byte for byte;
 *  - the event cursor file: missing = 0, round trip, atomic replacement
 *    (no temporary left behind), a damaged file refused with its name;
 *  - the client library's retry logic (lazy pirate), against an
 *    unreachable endpoint and against a test peer: a real ZeroMQ ROUTER in
 *    a thread that plays a scripted conversation (ignore the first
 *    attempt, answer the second after a stale and an unreadable reply).
 *    The peer tests the client's own behaviour; it is not a broker mock.
 */
#include "cli.h"
#include "event_cursor.h"
#include "relais_client.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* ---- helpers ---------------------------------------------------------------- */

/* Runs a text renderer into a string the caller frees. */
#define RENDER(call, out_str)                                                                      \
    do {                                                                                           \
        size_t render_len_ = 0;                                                                    \
        FILE *render_f_ = open_memstream(&(out_str), &render_len_);                                \
        cr_assert_not_null(render_f_);                                                             \
        FILE *out = render_f_;                                                                     \
        call;                                                                                      \
        fclose(render_f_);                                                                         \
    } while (0)

static char *s_dump(json_t *obj)
{
    cr_assert_not_null(obj);
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    cr_assert_not_null(s);
    return s;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static Relais__V1__Reason s_reason_a = {PROTOBUF_C_MESSAGE_INIT(&relais__v1__reason__descriptor),
                                        (char *)"too_old", (char *)"Plus de 25 ans."};
static Relais__V1__Reason s_reason_b = {PROTOBUF_C_MESSAGE_INIT(&relais__v1__reason__descriptor),
                                        (char *)"has_rsa", (char *)"Percoit le RSA."};

/* ---- options and exit statuses ------------------------------------------------ */

Test(cli_options, parse_number_is_strict)
{
    uint64_t v = 7;
    cr_assert(cli_parse_number("250", 1, 1000, &v));
    cr_assert_eq(v, 250);
    cr_assert(cli_parse_number("0", 0, 10, &v));
    cr_assert_eq(v, 0);
    cr_assert(cli_parse_number("18446744073709551615", 0, UINT64_MAX, &v));
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_not(cli_parse_number("18446744073709551616", 0, UINT64_MAX, &v));
    cr_assert_not(cli_parse_number("", 0, 10, &v));
    cr_assert_not(cli_parse_number(NULL, 0, 10, &v));
    cr_assert_not(cli_parse_number("-5", 0, 10, &v));
    cr_assert_not(cli_parse_number(" 5", 0, 10, &v));
    cr_assert_not(cli_parse_number("5ms", 0, 10, &v));
    cr_assert_not(cli_parse_number("0", 1, 10, &v));
    cr_assert_not(cli_parse_number("11", 1, 10, &v));
}

Test(cli_options, global_options)
{
    cli_global_t g;
    char err[256];
    setenv("RELAIS_TEST_AS", "mission-locale", 1);
    cli_global_init(&g, "relais-agent", RELAIS_DEFAULT_PARTNER_ENDPOINT, "RELAIS_TEST_AS");
    cr_assert_str_eq(g.broker, "tcp://127.0.0.1:7410");
    cr_assert_str_eq(g.as, "mission-locale");
    cr_assert_not(g.json);
    cr_assert_eq(g.timeout_ms, 0);

    cr_assert_eq(cli_global_option(&g, CLI_OPT_AS, "asq-centre", err, sizeof err), 1);
    cr_assert_str_eq(g.as, "asq-centre");
    cr_assert_eq(cli_global_option(&g, CLI_OPT_BROKER, "tcp://10.0.0.1:7410", err, sizeof err), 1);
    cr_assert_str_eq(g.broker, "tcp://10.0.0.1:7410");
    cr_assert_eq(cli_global_option(&g, CLI_OPT_JSON, NULL, err, sizeof err), 1);
    cr_assert(g.json);
    cr_assert_eq(cli_global_option(&g, CLI_OPT_TIMEOUT, "250", err, sizeof err), 1);
    cr_assert_eq(g.timeout_ms, 250);

    cr_assert_eq(cli_global_option(&g, CLI_OPT_TIMEOUT, "soon", err, sizeof err), -1);
    cr_assert(strstr(err, "--timeout") && strstr(err, "soon"), "%s", err);
    cr_assert_eq(cli_global_option(&g, CLI_OPT_TIMEOUT, "0", err, sizeof err), -1);
    cr_assert_eq(cli_global_option(&g, CLI_OPT_BROKER, "", err, sizeof err), -1);
    cr_assert_eq(g.timeout_ms, 250, "a refused value leaves the option as it was");
    /* Not a global option: the program's own. */
    cr_assert_eq(cli_global_option(&g, CLI_OPT_FIRST_FREE, "x", err, sizeof err), 0);
    cr_assert_eq(cli_global_option(&g, 'h', NULL, err, sizeof err), 0);

    setenv("RELAIS_TEST_AS", "", 1);
    cli_global_init(&g, "relais-intake", RELAIS_DEFAULT_COORDINATOR_ENDPOINT, "RELAIS_TEST_AS");
    cr_assert_null(g.as, "an empty variable is no id");
    cr_assert_str_eq(g.broker, "tcp://127.0.0.1:7411");
}

Test(cli_options, exit_statuses)
{
    cr_assert_eq(cli_exit_status(RELAIS_OK), 0);
    cr_assert_eq(cli_exit_status(RELAIS_ETIMEOUT), 2);
    cr_assert_eq(cli_exit_status(RELAIS_EPROTO), 2);
    cr_assert_eq(cli_exit_status(RELAIS_EBROKER), 3);
    cr_assert_eq(cli_exit_status(RELAIS_ESYS), 1);
}

/* ---- rendering ------------------------------------------------------------------ */

Test(cli_render, ack_json)
{
    Relais__V1__Reason *reasons[] = {&s_reason_a, &s_reason_b};
    Relais__V1__Ack ack = RELAIS__V1__ACK__INIT;
    ack.partner_ref = (char *)"ML-2026-001";
    ack.status = RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE;
    ack.n_reasons = 2;
    ack.reasons = reasons;
    char *s = s_dump(cli_json_ack(7, &ack));
    cr_assert_str_eq(s, "{\"line\":7,\"partner_ref\":\"ML-2026-001\",\"status\":\"ineligible\","
                        "\"case_id\":null,\"structure_id\":null,\"reasons\":[{\"code\":\"too_old\","
                        "\"message\":\"Plus de 25 ans.\"},{\"code\":\"has_rsa\",\"message\":"
                        "\"Percoit le RSA.\"}],\"replay\":false}");
    free(s);

    Relais__V1__Ack accepted = RELAIS__V1__ACK__INIT;
    accepted.partner_ref = (char *)"ML-2026-002";
    accepted.status = RELAIS__V1__ACK_STATUS__ACK_ACCEPTED;
    accepted.case_id = (char *)"C-000042";
    accepted.structure_id = (char *)"asq-planoise";
    accepted.replay = 1;
    s = s_dump(cli_json_ack(8, &accepted));
    cr_assert_str_eq(s, "{\"line\":8,\"partner_ref\":\"ML-2026-002\",\"status\":\"accepted\","
                        "\"case_id\":\"C-000042\",\"structure_id\":\"asq-planoise\","
                        "\"reasons\":[],\"replay\":true}");
    free(s);
}

Test(cli_render, ack_text)
{
    Relais__V1__Reason *reasons[] = {&s_reason_a, &s_reason_b};
    Relais__V1__Ack ack = RELAIS__V1__ACK__INIT;
    ack.partner_ref = (char *)"ML-2026-001";
    ack.status = RELAIS__V1__ACK_STATUS__ACK_INELIGIBLE;
    ack.n_reasons = 2;
    ack.reasons = reasons;
    char *s = NULL;
    RENDER(cli_print_ack(out, 7, &ack), s);
    cr_assert_str_eq(s, "line 7     ML-2026-001       ineligible  case=-           "
                        "structure=-                 reasons=too_old,has_rsa\n");
    free(s);

    Relais__V1__Ack accepted = RELAIS__V1__ACK__INIT;
    accepted.partner_ref = (char *)"ML-2026-002";
    accepted.status = RELAIS__V1__ACK_STATUS__ACK_ACCEPTED;
    accepted.case_id = (char *)"C-000042";
    accepted.structure_id = (char *)"asq-planoise";
    accepted.replay = 1;
    RENDER(cli_print_ack(out, 12, &accepted), s);
    cr_assert_str_eq(s, "line 12    ML-2026-002       accepted    case=C-000042    "
                        "structure=asq-planoise      reasons=-  replay\n");
    free(s);
}

Test(cli_render, row_problem)
{
    char *s = NULL;
    RENDER(cli_print_row_problem(out, 3, "ML-9", "unreadable: birth_date: not a date"), s);
    cr_assert_str_eq(s, "line 3     ML-9              unreadable: birth_date: not a date\n");
    free(s);
    /* No partner_ref read, and a control character in the reason. */
    RENDER(cli_print_row_problem(out, 4, "", "unreadable: bad\x1b[31m"), s);
    cr_assert_str_eq(s, "line 4     -                 unreadable: bad?[31m\n");
    free(s);
    s = s_dump(cli_json_row_problem(4, "", "unreadable", "consent: empty"));
    cr_assert_str_eq(s, "{\"line\":4,\"partner_ref\":null,\"error\":\"unreadable\","
                        "\"message\":\"consent: empty\"}");
    free(s);
}

/* Line 0: an answer not tied to a file row (relais-agent run, or a row
 * queued by an earlier submit). */
Test(cli_render, ack_without_a_line)
{
    Relais__V1__Ack accepted = RELAIS__V1__ACK__INIT;
    accepted.partner_ref = (char *)"ML-2026-002";
    accepted.status = RELAIS__V1__ACK_STATUS__ACK_ACCEPTED;
    accepted.case_id = (char *)"C-000042";
    accepted.structure_id = (char *)"asq-planoise";
    char *s = NULL;
    RENDER(cli_print_ack(out, 0, &accepted), s);
    cr_assert_str_eq(s, "line -     ML-2026-002       accepted    case=C-000042    "
                        "structure=asq-planoise      reasons=-\n");
    free(s);
    s = s_dump(cli_json_ack(0, &accepted));
    static const char head[] = "{\"line\":null,\"partner_ref\":\"ML-2026-002\"";
    cr_assert(strncmp(s, head, sizeof head - 1) == 0, "%s", s);
    free(s);
    RENDER(cli_print_row_problem(out, 0, "ML-9", "error: broker error too_large: big"), s);
    cr_assert_str_eq(s, "line -     ML-9              error: broker error too_large: big\n");
    free(s);
}

static Relais__V1__StatusEvent s_event(void)
{
    Relais__V1__StatusEvent ev = RELAIS__V1__STATUS_EVENT__INIT;
    ev.seq = 41;
    ev.partner_ref = (char *)"ML-2026-001";
    ev.case_id = (char *)"C-000042";
    ev.state = RELAIS__V1__CASE_STATE__CASE_CLOSED;
    ev.structure_id = (char *)"asq-planoise";
    ev.at = (char *)"2026-11-30T08:15:00Z";
    ev.outcome = RELAIS__V1__OUTCOME__OUTCOME_TRAINING;
    ev.detail = (char *)"entree en formation";
    return ev;
}

Test(cli_render, event_json)
{
    Relais__V1__StatusEvent ev = s_event();
    char *s = s_dump(cli_json_event(&ev));
    cr_assert_str_eq(s, "{\"seq\":41,\"partner_ref\":\"ML-2026-001\",\"case_id\":\"C-000042\","
                        "\"state\":\"closed\",\"structure_id\":\"asq-planoise\","
                        "\"at\":\"2026-11-30T08:15:00Z\",\"outcome\":\"training\","
                        "\"detail\":\"entree en formation\"}");
    free(s);
    ev.outcome = RELAIS__V1__OUTCOME__OUTCOME_UNSPECIFIED;
    ev.state = RELAIS__V1__CASE_STATE__CASE_ACCEPTED;
    ev.detail = (char *)"";
    s = s_dump(cli_json_event(&ev));
    cr_assert(strstr(s, "\"state\":\"accepted\""), "%s", s);
    cr_assert(strstr(s, "\"outcome\":null,\"detail\":null}"), "%s", s);
    free(s);
}

Test(cli_render, event_text)
{
    Relais__V1__StatusEvent ev = s_event();
    char *s = NULL;
    RENDER(cli_print_event(out, &ev), s);
    cr_assert_str_eq(s, "seq 41      ML-2026-001       C-000042    closed           "
                        "structure=asq-planoise      at=2026-11-30T08:15:00Z  outcome=training  "
                        "entree en formation\n");
    free(s);
    ev.detail = (char *)"two\nlines";
    ev.outcome = RELAIS__V1__OUTCOME__OUTCOME_UNSPECIFIED;
    RENDER(cli_print_event(out, &ev), s);
    cr_assert(strstr(s, "outcome=-  two?lines\n"), "one line per event: %s", s);
    free(s);
}

Test(cli_render, action_result)
{
    Relais__V1__ActionResult ok = RELAIS__V1__ACTION_RESULT__INIT;
    ok.case_id = (char *)"C-000042";
    ok.ok = 1;
    ok.state = RELAIS__V1__CASE_STATE__CASE_PLAN_AGREED;
    char *s = NULL;
    RENDER(cli_print_action_result(out, &ok), s);
    cr_assert_str_eq(s, "C-000042 now plan_agreed\n");
    free(s);
    s = s_dump(cli_json_action_result(&ok));
    cr_assert_str_eq(s, "{\"case_id\":\"C-000042\",\"ok\":true,\"state\":\"plan_agreed\"}");
    free(s);

    Relais__V1__Reason why = {PROTOBUF_C_MESSAGE_INIT(&relais__v1__reason__descriptor),
                              (char *)"bad_transition", (char *)"Le dossier est clos."};
    Relais__V1__ActionResult no = RELAIS__V1__ACTION_RESULT__INIT;
    no.case_id = (char *)"C-000042";
    no.state = RELAIS__V1__CASE_STATE__CASE_CLOSED;
    no.error = &why;
    RENDER(cli_print_action_result(out, &no), s);
    cr_assert_str_eq(s, "refused: bad_transition: Le dossier est clos.\n");
    free(s);
    s = s_dump(cli_json_action_result(&no));
    cr_assert_str_eq(s, "{\"case_id\":\"C-000042\",\"ok\":false,\"state\":\"closed\","
                        "\"error\":{\"code\":\"bad_transition\",\"message\":"
                        "\"Le dossier est clos.\"}}");
    free(s);
}

Test(cli_render, case_view)
{
    Relais__V1__Person p = RELAIS__V1__PERSON__INIT;
    p.last_name = (char *)"Martin";
    p.first_names = (char *)"Lea";
    p.birth_date = (char *)"2004-05-06";
    p.postcode = (char *)"25000";
    p.quartier = (char *)"Planoise";
    p.phone = (char *)"0601020304";
    Relais__V1__Need needs[] = {RELAIS__V1__NEED__NEED_HOUSING, RELAIS__V1__NEED__NEED_MOBILITY};
    Relais__V1__Benefit benefits[] = {RELAIS__V1__BENEFIT__BENEFIT_NONE};
    char *referred_by[] = {(char *)"mission-locale", (char *)"asq-centre"};
    Relais__V1__CaseView c = RELAIS__V1__CASE_VIEW__INIT;
    c.case_id = (char *)"C-000042";
    c.state = RELAIS__V1__CASE_STATE__CASE_ROUTED;
    c.person = &p;
    c.n_needs = 2;
    c.needs = needs;
    c.n_benefits = 1;
    c.benefits = benefits;
    c.n_referred_by = 2;
    c.referred_by = referred_by;
    c.routed_at = (char *)"2026-03-02T10:00:00Z";

    char *s = NULL;
    RENDER(cli_print_case(out, &c), s);
    cr_assert_str_eq(s, "case C-000042  routed  routed_at=2026-03-02T10:00:00Z\n"
                        "  name        Martin Lea\n"
                        "  born        2004-05-06\n"
                        "  lives       Planoise, 25000\n"
                        "  phone       0601020304\n"
                        "  referred_by mission-locale, asq-centre\n"
                        "  needs       housing, mobility\n"
                        "  benefits    none\n");
    free(s);
    s = s_dump(cli_json_case(&c));
    cr_assert(strstr(s, "\"case_id\":\"C-000042\",\"state\":\"routed\""), "%s", s);
    cr_assert(strstr(s, "\"referred_by\":[\"mission-locale\",\"asq-centre\"]"), "%s", s);
    cr_assert(strstr(s, "\"needs\":[\"housing\",\"mobility\"],\"benefits\":[\"none\"]"), "%s", s);
    cr_assert(strstr(s, "\"person\":{\"last_name\":\"Martin\",\"first_names\":\"Lea\","
                        "\"birth_date\":\"2004-05-06\",\"sex\":null,\"phone\":\"0601020304\","
                        "\"email\":null,\"postcode\":\"25000\""),
              "%s", s);
    free(s);
}

/* ---- event cursor ------------------------------------------------------------------ */

static char s_dir[PATH_MAX];

static void s_make_tmpdir(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/relais-test-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(s_dir));
}

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

static void s_cleanup_tmpdir(void)
{
    s_remove_tree(s_dir);
}

static size_t s_count_entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void s_write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
}

TestSuite(event_cursor, .init = s_make_tmpdir, .fini = s_cleanup_tmpdir);

Test(event_cursor, missing_file_is_zero)
{
    char path[PATH_MAX + 32], err[512];
    snprintf(path, sizeof path, "%s/none.seq", s_dir);
    uint64_t seq = 99;
    cr_assert_eq(event_cursor_load(path, &seq, err, sizeof err), 0, "%s", err);
    cr_assert_eq(seq, 0);
}

Test(event_cursor, round_trip_creates_dirs_and_leaves_no_temp)
{
    char path[PATH_MAX + 64], sub[PATH_MAX + 32], err[512];
    snprintf(sub, sizeof sub, "%s/a/b", s_dir);
    snprintf(path, sizeof path, "%s/events-ml.seq", sub);
    cr_assert_eq(event_cursor_save(path, 42, err, sizeof err), 0, "%s", err);
    uint64_t seq = 0;
    cr_assert_eq(event_cursor_load(path, &seq, err, sizeof err), 0, "%s", err);
    cr_assert_eq(seq, 42);
    cr_assert_eq(event_cursor_save(path, UINT64_MAX, err, sizeof err), 0, "%s", err);
    cr_assert_eq(event_cursor_load(path, &seq, err, sizeof err), 0, "%s", err);
    cr_assert_eq(seq, UINT64_MAX);
    /* The temporary file was renamed over the old one: only one entry. */
    cr_assert_eq(s_count_entries(sub), 1);
    struct stat st;
    cr_assert_eq(stat(sub, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);

    FILE *f = fopen(path, "r");
    char text[64] = "";
    cr_assert_not_null(fgets(text, sizeof text, f));
    fclose(f);
    cr_assert_str_eq(text, "18446744073709551615\n");
}

Test(event_cursor, damaged_file_is_refused_by_name)
{
    static const char *const bad[] = {"",     "abc\n", "-3\n", "12abc\n", "99999999999999999999\n",
                                      "1 2\n"};
    char path[PATH_MAX + 32], err[1024];
    snprintf(path, sizeof path, "%s/bad.seq", s_dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write_file(path, bad[i], strlen(bad[i]));
        uint64_t seq = 5;
        err[0] = '\0';
        cr_assert_eq(event_cursor_load(path, &seq, err, sizeof err), -1, "'%s' accepted", bad[i]);
        cr_assert(strstr(err, path) && strstr(err, "not an event sequence number"), "%s", err);
        cr_assert_eq(seq, 5, "a refused file leaves the value alone");
    }
    /* A NUL byte inside is damage too, not the end of the number. */
    s_write_file(path,
                 "12\0"
                 "34\n",
                 6);
    uint64_t seq = 0;
    cr_assert_eq(event_cursor_load(path, &seq, err, sizeof err), -1);
    /* What an editor may leave is fine. */
    s_write_file(path, "12\r\n", 4);
    cr_assert_eq(event_cursor_load(path, &seq, err, sizeof err), 0, "%s", err);
    cr_assert_eq(seq, 12);
}

Test(event_cursor, default_path)
{
    char path[PATH_MAX], err[512];
    setenv("XDG_STATE_HOME", "/var/lib/x", 1);
    cr_assert_eq(event_cursor_default_path("mission-locale", path, sizeof path, err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(path, "/var/lib/x/relais/events-mission-locale.seq");
    /* A relative XDG_STATE_HOME is invalid by the XDG rules: HOME is used. */
    setenv("XDG_STATE_HOME", "relative", 1);
    setenv("HOME", "/home/ml", 1);
    cr_assert_eq(event_cursor_default_path("ml", path, sizeof path, err, sizeof err), 0);
    cr_assert_str_eq(path, "/home/ml/.local/state/relais/events-ml.seq");
    cr_assert_eq(event_cursor_default_path("../etc/x", path, sizeof path, err, sizeof err), -1);
    cr_assert(strstr(err, "--state"), "%s", err);
    cr_assert_eq(event_cursor_default_path(".hidden", path, sizeof path, err, sizeof err), -1);
    cr_assert_eq(event_cursor_default_path("", path, sizeof path, err, sizeof err), -1);
    /* The state directory itself, and a cursor inside a given one. */
    cr_assert_eq(event_cursor_default_dir(path, sizeof path, err, sizeof err), 0);
    cr_assert_str_eq(path, "/home/ml/.local/state/relais");
    cr_assert_eq(event_cursor_path_in("/srv/relais", "ml", path, sizeof path, err, sizeof err), 0);
    cr_assert_str_eq(path, "/srv/relais/events-ml.seq");
    cr_assert_eq(event_cursor_path_in("/srv", "a/b", path, sizeof path, err, sizeof err), -1);
}

/* ---- client: lazy pirate ------------------------------------------------------------- */

Test(client, unreachable_broker_times_out_quickly)
{
    char err[256];
    /* Nothing listens on port 1: ZeroMQ keeps trying to connect in the
     * background and the request waits in the queue. */
    relais_client_t *c = relais_client_new("tcp://127.0.0.1:1", "mission-locale", err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    relais_client_set_timeout(c, 100, 2);
    Relais__V1__Envelope *reply = (Relais__V1__Envelope *)1;
    int64_t t0 = s_now_ms();
    int rc = relais_client_fetch_events(c, 0, 10, &reply);
    int64_t elapsed = s_now_ms() - t0;
    cr_assert_eq(rc, RELAIS_ETIMEOUT);
    cr_assert_null(reply);
    cr_assert(elapsed >= 190 && elapsed < 1500, "took %lld ms", (long long)elapsed);
    cr_assert(strstr(relais_client_last_error(c), "no reply from tcp://127.0.0.1:1 after 2 "
                                                  "attempts of 100 ms"),
              "%s", relais_client_last_error(c));
    /* The client is still usable: the next call times out the same way. */
    cr_assert_eq(relais_client_fetch_events(c, 0, 10, &reply), RELAIS_ETIMEOUT);
    relais_client_destroy(&c);
    cr_assert_null(c);
}

Test(client, bad_endpoint_is_reported_at_creation)
{
    char err[256] = "";
    relais_client_t *c = relais_client_new("nonsense://x", "ml", err, sizeof err);
    cr_assert_null(c);
    cr_assert(strstr(err, "nonsense://x"), "%s", err);
}

/* The scripted peer.  Scripts: */
enum {
    PEER_SECOND_ATTEMPT, /* ignore attempt 1; answer attempt 2 after a stale and a garbage reply */
    PEER_GARBAGE_ONLY,   /* answer every attempt with garbage */
    PEER_ERROR,          /* answer with an Error */
};

#define PEER_MAX_REQUESTS 4

typedef struct {
    void *ctx;
    void *router;
    char endpoint[128];
    int script;
    int n; /* requests received */
    char request_id[PEER_MAX_REQUESTS][128];
    char sender[PEER_MAX_REQUESTS][64];
    uint8_t identity[PEER_MAX_REQUESTS][256];
    size_t identity_size[PEER_MAX_REQUESTS];
    uint8_t frame[PEER_MAX_REQUESTS][1024];
    size_t frame_size[PEER_MAX_REQUESTS];
    char failure[200]; /* first check that failed in the peer's thread */
} s_peer_t;

/* Criterion's assertions must run on the test's own thread, so the peer
 * records its first failure here and the test asserts on it. */
#define PEER_CHECK(p, cond)                                                                        \
    do {                                                                                           \
        if (!(cond) && !(p)->failure[0])                                                           \
            snprintf((p)->failure, sizeof(p)->failure, "line %d: %s", __LINE__, #cond);            \
    } while (0)

static void s_peer_send(s_peer_t *p, int i, const void *data, size_t size)
{
    PEER_CHECK(p, zmq_send(p->router, p->identity[i], p->identity_size[i], ZMQ_SNDMORE) ==
                      (int)p->identity_size[i]);
    PEER_CHECK(p, zmq_send(p->router, data, size, 0) == (int)size);
}

static void s_peer_send_envelope(s_peer_t *p, int i, Relais__V1__Envelope *env)
{
    uint8_t buf[1024];
    size_t size = relais__v1__envelope__get_packed_size(env);
    PEER_CHECK(p, size <= sizeof buf);
    if (size > sizeof buf)
        return;
    relais__v1__envelope__pack(env, buf);
    s_peer_send(p, i, buf, size);
}

static void s_peer_ack(s_peer_t *p, int i, const char *request_id, const char *partner_ref,
                       const char *case_id)
{
    Relais__V1__Ack ack = RELAIS__V1__ACK__INIT;
    ack.partner_ref = (char *)partner_ref;
    ack.status = RELAIS__V1__ACK_STATUS__ACK_ACCEPTED;
    ack.case_id = (char *)case_id;
    Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
    env.version = 1;
    env.request_id = (char *)request_id;
    env.body_case = RELAIS__V1__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    s_peer_send_envelope(p, i, &env);
}

/* Receives one request; false when none came within the socket's
 * receive timeout (the client gave up) or it was malformed. */
static bool s_peer_recv(s_peer_t *p)
{
    int i = p->n;
    if (i >= PEER_MAX_REQUESTS)
        return false;
    int n = zmq_recv(p->router, p->identity[i], sizeof p->identity[i], 0);
    if (n < 0)
        return false;
    p->identity_size[i] = (size_t)n;
    int more = 0;
    size_t more_size = sizeof more;
    zmq_getsockopt(p->router, ZMQ_RCVMORE, &more, &more_size);
    PEER_CHECK(p, more); /* identity, then the request */
    n = zmq_recv(p->router, p->frame[i], sizeof p->frame[i], 0);
    PEER_CHECK(p, n > 0 && (size_t)n <= sizeof p->frame[i]);
    if (n <= 0 || (size_t)n > sizeof p->frame[i])
        return false;
    p->frame_size[i] = (size_t)n;
    zmq_getsockopt(p->router, ZMQ_RCVMORE, &more, &more_size);
    PEER_CHECK(p, !more); /* the request is exactly one frame */
    Relais__V1__Envelope *env = relais__v1__envelope__unpack(NULL, (size_t)n, p->frame[i]);
    PEER_CHECK(p, env != NULL);
    if (!env)
        return false;
    snprintf(p->request_id[i], sizeof p->request_id[i], "%s", env->request_id);
    snprintf(p->sender[i], sizeof p->sender[i], "%s", env->sender);
    relais__v1__envelope__free_unpacked(env, NULL);
    p->n++;
    return true;
}

static void *s_peer_run(void *arg)
{
    s_peer_t *p = arg;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff};
    switch (p->script) {
    case PEER_SECOND_ATTEMPT:
        /* Attempt 1 is dropped on the floor; attempt 2 comes on a new
         * connection and gets a stale reply, garbage, then its answer. */
        if (!s_peer_recv(p) || !s_peer_recv(p))
            break;
        s_peer_ack(p, 1, "someone-else-1", "OLD-REF", "C-OLD");
        s_peer_send(p, 1, garbage, sizeof garbage);
        s_peer_ack(p, 1, p->request_id[1], "REF-1", "C-000001");
        break;
    case PEER_GARBAGE_ONLY:
        while (s_peer_recv(p))
            s_peer_send(p, p->n - 1, garbage, sizeof garbage);
        break;
    case PEER_ERROR: {
        if (!s_peer_recv(p))
            break;
        Relais__V1__Error e = RELAIS__V1__ERROR__INIT;
        e.code = (char *)"unknown_sender";
        e.message = (char *)"Partenaire inconnu.";
        Relais__V1__Envelope env = RELAIS__V1__ENVELOPE__INIT;
        env.version = 1;
        env.request_id = p->request_id[0];
        env.body_case = RELAIS__V1__ENVELOPE__BODY_ERROR;
        env.error = &e;
        s_peer_send_envelope(p, 0, &env);
        break;
    }
    }
    return NULL;
}

static void s_peer_start(s_peer_t *p, int script, pthread_t *thread)
{
    memset(p, 0, sizeof *p);
    p->script = script;
    p->ctx = zmq_ctx_new();
    cr_assert_not_null(p->ctx);
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    cr_assert_not_null(p->router);
    int linger = 0, rcvtimeo = 700;
    zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(p->router, ZMQ_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
    cr_assert_eq(zmq_bind(p->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof p->endpoint;
    cr_assert_eq(zmq_getsockopt(p->router, ZMQ_LAST_ENDPOINT, p->endpoint, &len), 0);
    /* Handing the socket to the thread: pthread_create is the full memory
     * barrier ZeroMQ asks for when a socket changes threads. */
    cr_assert_eq(pthread_create(thread, NULL, s_peer_run, p), 0);
}

static void s_peer_stop(s_peer_t *p, pthread_t thread)
{
    pthread_join(thread, NULL);
    zmq_close(p->router);
    zmq_ctx_term(p->ctx);
    cr_assert_eq(p->failure[0], '\0', "peer: %s", p->failure);
}

static Relais__V1__Referral s_referral(Relais__V1__Person *person)
{
    *person = (Relais__V1__Person)RELAIS__V1__PERSON__INIT;
    person->last_name = (char *)"Martin";
    person->first_names = (char *)"Lea";
    person->birth_date = (char *)"2004-05-06";
    Relais__V1__Referral r = RELAIS__V1__REFERRAL__INIT;
    r.partner_ref = (char *)"REF-1";
    r.person = person;
    r.consent = 1;
    return r;
}

Test(client, resend_carries_same_request_id_and_skips_stale_replies)
{
    s_peer_t peer;
    pthread_t thread;
    s_peer_start(&peer, PEER_SECOND_ATTEMPT, &thread);

    char err[256];
    relais_client_t *c = relais_client_new(peer.endpoint, "mission-locale", err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    relais_client_set_timeout(c, 300, 3);
    Relais__V1__Person person;
    Relais__V1__Referral referral = s_referral(&person);
    Relais__V1__Envelope *reply = NULL;
    int rc = relais_client_submit(c, &referral, &reply);
    s_peer_stop(&peer, thread);

    cr_assert_eq(rc, RELAIS_OK, "%s", relais_client_last_error(c));
    cr_assert_str_eq(relais_client_last_error(c), "");
    cr_assert_not_null(reply);
    cr_assert_str_eq(reply->ack->partner_ref, "REF-1", "the stale reply was skipped");
    cr_assert_str_eq(reply->ack->case_id, "C-000001");
    cr_assert_eq(peer.n, 2, "answered on the second attempt, no third");
    cr_assert_neq(peer.request_id[0][0], '\0', "the client made up an id");
    cr_assert_str_eq(peer.request_id[0], peer.request_id[1]);
    cr_assert_str_eq(peer.sender[0], "mission-locale");
    cr_assert_eq(peer.frame_size[0], peer.frame_size[1]);
    cr_assert_eq(memcmp(peer.frame[0], peer.frame[1], peer.frame_size[0]), 0,
                 "the resend is the same request, byte for byte");
    cr_assert(peer.identity_size[0] != peer.identity_size[1] ||
                  memcmp(peer.identity[0], peer.identity[1], peer.identity_size[0]) != 0,
              "the resend comes from a new socket");
    relais__v1__envelope__free_unpacked(reply, NULL);

    /* The next call gets a new id. */
    Relais__V1__Envelope req = RELAIS__V1__ENVELOPE__INIT;
    relais_client_set_timeout(c, 50, 1);
    rc = relais_client_call(c, &req, &reply);
    cr_assert_eq(rc, RELAIS_ETIMEOUT);
    cr_assert_str_neq(req.request_id, peer.request_id[0]);
    cr_assert_eq(req.version, 1);
    cr_assert_str_eq(req.sender, "mission-locale");
    relais_client_destroy(&c);
}

Test(client, only_unreadable_replies_is_a_protocol_error)
{
    s_peer_t peer;
    pthread_t thread;
    s_peer_start(&peer, PEER_GARBAGE_ONLY, &thread);
    char err[256];
    relais_client_t *c = relais_client_new(peer.endpoint, "asq-planoise", err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    relais_client_set_timeout(c, 150, 2);
    Relais__V1__Envelope *reply = NULL;
    int rc = relais_client_fetch_cases(c, "asq-planoise", 0, 1, &reply);
    cr_assert_eq(rc, RELAIS_EPROTO);
    cr_assert_null(reply);
    cr_assert(strstr(relais_client_last_error(c), "unreadable"), "%s", relais_client_last_error(c));
    relais_client_destroy(&c);
    s_peer_stop(&peer, thread);
    cr_assert_eq(peer.n, 2, "a garbage answer does not stop the retries");
}

Test(client, error_reply_is_ebroker_with_the_reply)
{
    s_peer_t peer;
    pthread_t thread;
    s_peer_start(&peer, PEER_ERROR, &thread);
    char err[256];
    relais_client_t *c = relais_client_new(peer.endpoint, "nobody", err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    relais_client_set_timeout(c, 1000, 1);
    Relais__V1__CaseAction action = RELAIS__V1__CASE_ACTION__INIT;
    action.case_id = (char *)"C-1";
    action.kind = RELAIS__V1__ACTION_KIND__ACTION_ACCEPT;
    Relais__V1__Envelope *reply = NULL;
    int rc = relais_client_act(c, &action, &reply);
    s_peer_stop(&peer, thread);
    cr_assert_eq(rc, RELAIS_EBROKER);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->body_case, RELAIS__V1__ENVELOPE__BODY_ERROR);
    cr_assert_str_eq(relais_client_last_error(c),
                     "broker error unknown_sender: Partenaire inconnu.");
    relais__v1__envelope__free_unpacked(reply, NULL);
    relais_client_destroy(&c);
}

/* Ctrl-C while waiting: the call ends at once, it is not retried. */
static void *s_interrupt_later(void *arg)
{
    struct timespec pause = {0, 150 * 1000000L};
    nanosleep(&pause, NULL);
    pthread_kill(*(pthread_t *)arg, SIGINT);
    return NULL;
}

Test(client, interrupt_ends_the_call)
{
    char err[256];
    relais_client_t *c = relais_client_new("tcp://127.0.0.1:1", "ml", err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    relais_client_set_timeout(c, 5000, 3);
    cli_catch_interrupts();
    pthread_t self = pthread_self(), killer;
    cr_assert_eq(pthread_create(&killer, NULL, s_interrupt_later, &self), 0);
    Relais__V1__Envelope *reply = NULL;
    int64_t t0 = s_now_ms();
    int rc = relais_client_fetch_events(c, 0, 0, &reply);
    int64_t elapsed = s_now_ms() - t0;
    pthread_join(killer, NULL);
    cr_assert_eq(rc, RELAIS_ESYS);
    cr_assert_str_eq(relais_client_last_error(c), "interrupted");
    cr_assert(elapsed < 2000, "took %lld ms", (long long)elapsed);
    cr_assert(cli_interrupted());
    cr_assert_eq(cli_exit_status(rc), CLI_EXIT_INTERRUPTED);
    relais_client_destroy(&c);
}
