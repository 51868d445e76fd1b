/*  relais-agent — the partner side: sends a partner's referrals (its CSV
 *  export) to the broker and shows what became of them.
 *
 *  submit: the CSV is read row by row (csv_reader) and each readable row is
 *  sent and answered before the next one is read, so the output follows
 *  the file and a row is never in flight twice.  The first time the broker
 *  cannot be reached (every attempt timed out), sending stops: the rest of
 *  the file is still read, and each row is reported "not sent", so the
 *  partner sees exactly which rows to send again.  Sending the whole file
 *  again is safe: rows the broker already has come back as replays.
 *
 *  events: prints the status events of the partner's referrals after the
 *  last seq seen, page by page, and remembers the last seq printed in a
 *  state file (event_cursor) after each page, once the page is out on
 *  stdout: an interrupted run resumes after what was shown, and a failed
 *  write to stdout does not move the cursor.
 *
 *  Personal data (names, birth dates...) goes to the broker and nowhere
 *  else: output lines carry only ids, statuses and reason codes.
 */
#include "cli.h"
#include "csv_reader.h"
#include "event_cursor.h"
#include "vocab.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S_PROGRAM     "relais-agent"
#define S_EVENTS_PAGE 100

enum { S_OPT_CSV = CLI_OPT_FIRST_FREE, S_OPT_STATE, S_OPT_FROM };

static const char s_help[] =
    "Usage: relais-agent [OPTIONS] COMMAND\n"
    "\n"
    "Sends referrals of young people to the relais broker and shows what became\n"
    "of them.  For partner organisations (Mission locale, ASQ, associations...).\n"
    "\n"
    "Commands:\n"
    "  submit --csv FILE   Send every row of FILE, the partner CSV export, and\n"
    "                      print the broker's answer for each row:\n"
    "                        line N  REF  STATUS  case=C  structure=S  reasons=...\n"
    "                      STATUS is accepted, merged, ineligible, invalid,\n"
    "                      waitlisted or review; \"replay\" at the end means the\n"
    "                      broker already had this row (sending a file twice is\n"
    "                      safe).  A last line counts the rows per status.\n"
    "                      FILE \"-\" reads standard input.\n"
    "  events              Print the news about your referrals (accepted by a\n"
    "                      structure, contract signed, closed...) since the last\n"
    "                      time this command ran:\n"
    "                        seq N  REF  CASE  STATE  structure=S  at=T  outcome=O\n"
    "    --state FILE      where to remember the last news seen (default\n"
    "                      $XDG_STATE_HOME/relais/events-PARTNER.seq, else\n"
    "                      ~/.local/state/relais/events-PARTNER.seq)\n"
    "    --from SEQ        print the news after number SEQ instead (0: all)\n"
    "\n"
    "Options:\n"
    "  --as PARTNER_ID     your partner id, given by the programme team\n"
    "                      (or set RELAIS_PARTNER in the environment); required\n"
    "  --broker ENDPOINT   the broker's address (default " RELAIS_DEFAULT_PARTNER_ENDPOINT ")\n"
    "  --timeout MS        wait at most MS milliseconds for each answer (default\n"
    "                      3000); a request is tried 3 times before giving up\n"
    CLI_KEY_HELP
    "  --json              print one JSON object per line instead of text\n"
    "  --help              print this help\n"
    "  --version           print the version\n"
    "\n"
    "CSV columns (header row first, ',' or ';' separated, UTF-8):\n"
    "  required: partner_ref last_name first_names birth_date consent\n"
    "  optional: sex phone email postcode city quartier ine benefits\n"
    "            resources_eur_month needs referrer_name referrer_email notes\n"
    "            referred_on\n"
    "  dates YYYY-MM-DD or DD/MM/YYYY; consent yes/no (oui/non); lists such as\n"
    "  benefits \"rsa|cej\" separated by | or +.\n"
    "\n"
    "Exit status:\n"
    "  0    every readable row was answered (whatever the answer)\n"
    "  1    bad command line, or a file that cannot be read or written\n"
    "  2    the broker could not be reached: rows marked \"no answer\" or \"not\n"
    "       sent\" were not answered; send the same file again later\n"
    "  3    the broker refused some requests (\"broker error ...\")\n"
    "  130  interrupted (Ctrl-C)\n"
    "\n"
    "Examples:\n"
    "  relais-agent --as mission-locale submit --csv orientations-mars.csv\n"
    "  relais-agent --as mission-locale --json events\n";

/* ---- submit -------------------------------------------------------------- */

typedef struct {
    const cli_global_t *g;
    const char *path;
    relais_client_t *client;
    size_t rows;
    size_t by_status[VOCAB_ACK_STATUS_COUNT];
    size_t replays;
    size_t unreadable;
    size_t not_sent;
    size_t broker_errors;
    int stop_rc; /* RELAIS_OK until a failure stops the sending */
    bool output_failed;
} s_submit_t;

static void s_emit(s_submit_t *s, json_t *obj)
{
    if (cli_emit_json(stdout, obj) != 0)
        s->output_failed = true;
}

/* A row without an Ack.  KIND is the JSON "error" value (a stable word);
 * LABEL starts the text line. */
static void s_report_problem(s_submit_t *s, size_t line, const char *ref, const char *kind,
                             const char *label, const char *message)
{
    if (s->g->json) {
        s_emit(s, cli_json_row_problem(line, ref, kind, message));
        return;
    }
    char what[600];
    if (message && *message)
        snprintf(what, sizeof what, "%s: %s", label, message);
    else
        snprintf(what, sizeof what, "%s", label);
    cli_print_row_problem(stdout, line, ref, what);
}

static void s_send_row(s_submit_t *s, size_t line, const char *ref,
                       const Relais__V1__Referral *referral)
{
    Relais__V1__Envelope *reply = NULL;
    int rc = relais_client_submit(s->client, referral, &reply);
    if (rc == RELAIS_OK) {
        const Relais__V1__Ack *ack = reply->ack;
        int status = (int)ack->status;
        if (status > 0 && status < VOCAB_ACK_STATUS_COUNT)
            s->by_status[status]++;
        if (ack->replay)
            s->replays++;
        if (s->g->json)
            s_emit(s, cli_json_ack(line, ack));
        else
            cli_print_ack(stdout, line, ack);
    } else if (rc == RELAIS_EBROKER) {
        /* An answer, not an outage: the next row may well be fine. */
        s->broker_errors++;
        s_report_problem(s, line, ref, "broker_error", "error",
                         relais_client_last_error(s->client));
    } else {
        /* "no answer", not "not sent": the broker may have stored the row
         * and lost only its reply.  Sending it again is safe either way. */
        s->stop_rc = rc;
        s->not_sent++;
        s_report_problem(s, line, ref, "no_answer", "no answer",
                         relais_client_last_error(s->client));
        fprintf(stderr,
                "%s: %s\n%s: line %zu and the rows after it have no answer; send the same "
                "file again later (rows the broker already has come back as replays)\n",
                S_PROGRAM, relais_client_last_error(s->client), S_PROGRAM, line);
    }
    if (reply)
        relais__v1__envelope__free_unpacked(reply, NULL);
}

static int s_on_row(void *arg, size_t line, const char *partner_ref,
                    const Relais__V1__Referral *referral, const char *error)
{
    s_submit_t *s = arg;
    s->rows++;
    if (error) {
        s->unreadable++;
        s_report_problem(s, line, partner_ref, "unreadable", "unreadable", error);
    } else if (s->stop_rc != RELAIS_OK || cli_interrupted()) {
        if (s->stop_rc == RELAIS_OK)
            s->stop_rc = RELAIS_ESYS; /* Ctrl-C between two rows */
        s->not_sent++;
        s_report_problem(s, line, partner_ref, "not_sent", "not sent", NULL);
    } else {
        s_send_row(s, line, partner_ref, referral);
    }
    return 0; /* read on: every row gets its line */
}

static void s_on_warn(void *arg, const char *warning)
{
    const s_submit_t *s = arg;
    fprintf(stderr, "%s: %s: warning: %s\n", S_PROGRAM, s->path, warning);
}

static void s_print_summary(s_submit_t *s)
{
    if (s->g->json) {
        json_t *counts = json_object();
        json_t *obj = json_object();
        if (!counts || !obj) {
            json_decref(counts);
            json_decref(obj);
            s->output_failed = true;
            return;
        }
        json_object_set_new(counts, "rows", json_integer((json_int_t)s->rows));
        for (int i = 1; i < VOCAB_ACK_STATUS_COUNT; i++)
            json_object_set_new(counts, vocab_ack_status_name(i),
                                json_integer((json_int_t)s->by_status[i]));
        json_object_set_new(counts, "unreadable", json_integer((json_int_t)s->unreadable));
        json_object_set_new(counts, "not_sent", json_integer((json_int_t)s->not_sent));
        json_object_set_new(counts, "broker_errors", json_integer((json_int_t)s->broker_errors));
        json_object_set_new(counts, "replays", json_integer((json_int_t)s->replays));
        json_object_set_new(obj, "summary", counts);
        s_emit(s, obj);
        return;
    }
    printf("summary  rows=%zu ", s->rows);
    for (int i = 1; i < VOCAB_ACK_STATUS_COUNT; i++)
        printf(" %s=%zu", vocab_ack_status_name(i), s->by_status[i]);
    printf("  unreadable=%zu  not_sent=%zu  broker_errors=%zu  replays=%zu\n", s->unreadable,
           s->not_sent, s->broker_errors, s->replays);
}

static int s_cmd_submit(const cli_global_t *g, const char *path)
{
    char err[512] = "";
    s_submit_t s = {.g = g, .path = path, .stop_rc = RELAIS_OK};
    int status = CLI_EXIT_USAGE;
    s.client = cli_connect(g);
    if (!s.client)
        return CLI_EXIT_USAGE;

    int read_rc;
    if (strcmp(path, "-") == 0)
        read_rc = csv_reader_read_stream(stdin, s_on_row, s_on_warn, &s, err, sizeof err);
    else
        read_rc = csv_reader_read_file(path, s_on_row, s_on_warn, &s, err, sizeof err);
    if (read_rc < 0 && s.rows == 0) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
        goto done;
    }
    s_print_summary(&s);
    if (fflush(stdout) != 0 || ferror(stdout))
        s.output_failed = true;

    /* The most serious problem decides. */
    if (cli_interrupted())
        status = CLI_EXIT_INTERRUPTED;
    else if (s.stop_rc != RELAIS_OK)
        status = cli_exit_status(s.stop_rc);
    else if (read_rc < 0) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
        status = CLI_EXIT_USAGE;
    } else if (s.output_failed) {
        fprintf(stderr, "%s: cannot write the results to standard output\n", S_PROGRAM);
        status = CLI_EXIT_USAGE;
    } else if (s.broker_errors > 0)
        status = CLI_EXIT_REFUSED;
    else
        status = CLI_EXIT_OK;
done:
    relais_client_destroy(&s.client);
    return status;
}

/* ---- events -------------------------------------------------------------- */

/* Prints one page of events after *AFTER and moves *AFTER to the last one
 * printed.  Returns the number printed, or -1 (message printed, *STATUS
 * set). */
static long s_print_page(const cli_global_t *g, const Relais__V1__Events *events, uint64_t *after,
                         int *status)
{
    long printed = 0;
    for (size_t i = 0; events && i < events->n_events; i++) {
        const Relais__V1__StatusEvent *ev = events->events[i];
        /* The feed is ordered by seq; one at or before the cursor was
         * already shown (a broker bug or a resent page): skip it. */
        if (ev->seq <= *after)
            continue;
        if (g->json) {
            if (cli_emit_json(stdout, cli_json_event(ev)) != 0)
                goto out_failed;
        } else {
            cli_print_event(stdout, ev);
        }
        *after = ev->seq;
        printed++;
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        goto out_failed;
    return printed;
out_failed:
    fprintf(stderr, "%s: cannot write the events to standard output; not remembered\n", S_PROGRAM);
    *status = CLI_EXIT_USAGE;
    return -1;
}

static int s_cmd_events(const cli_global_t *g, const char *state_opt, bool from_set, uint64_t from)
{
    char err[PATH_MAX + 256] = "";
    char state_path[PATH_MAX];
    relais_client_t *client = NULL;
    int status = CLI_EXIT_USAGE;
    uint64_t after = 0;
    long total = 0;

    if (state_opt)
        snprintf(state_path, sizeof state_path, "%s", state_opt);
    else if (event_cursor_default_path(g->as, state_path, sizeof state_path, err, sizeof err) != 0)
        goto fail;
    if (from_set)
        after = from;
    else if (event_cursor_load(state_path, &after, err, sizeof err) != 0)
        goto fail;

    client = cli_connect(g);
    if (!client)
        goto done;
    for (;;) {
        Relais__V1__Envelope *reply = NULL;
        if (cli_interrupted()) { /* Ctrl-C while a page was printed: stop */
            status = CLI_EXIT_INTERRUPTED;
            goto done;
        }
        int rc = relais_client_fetch_events(client, after, S_EVENTS_PAGE, &reply);
        if (rc != RELAIS_OK) {
            fprintf(stderr, "%s: %s\n", S_PROGRAM, relais_client_last_error(client));
            if (reply)
                relais__v1__envelope__free_unpacked(reply, NULL);
            status = cli_exit_status(rc);
            goto done;
        }
        long printed = s_print_page(g, reply->events, &after, &status);
        relais__v1__envelope__free_unpacked(reply, NULL);
        if (printed < 0)
            goto done;
        if (printed == 0)
            break; /* empty page (or nothing new in it): up to date */
        total += printed;
        if (event_cursor_save(state_path, after, err, sizeof err) != 0)
            goto fail;
    }
    if (total == 0 && !g->json)
        fprintf(stderr, "%s: no new events after seq %llu\n", S_PROGRAM, (unsigned long long)after);
    status = CLI_EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
    status = CLI_EXIT_USAGE;
done:
    relais_client_destroy(&client);
    return status;
}

/* ---- command line ---------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"csv", required_argument, NULL, S_OPT_CSV},
        {"state", required_argument, NULL, S_OPT_STATE},
        {"from", required_argument, NULL, S_OPT_FROM},
        {NULL, 0, NULL, 0},
    };
    cli_global_t g;
    char err[256];
    const char *csv = NULL;
    const char *state = NULL;
    bool from_set = false;
    uint64_t from = 0;

    cli_global_init(&g, S_PROGRAM, RELAIS_DEFAULT_PARTNER_ENDPOINT, "RELAIS_PARTNER");
    opterr = 0; /* our messages, not getopt's */
    int opt;
    /* Options may come before or after the command (GNU argument
     * permutation): "relais-agent submit --csv f --as ml" works too. */
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int handled = cli_global_option(&g, opt, optarg, err, sizeof err);
        if (handled < 0)
            return cli_usage_error(&g, "%s", err);
        if (handled > 0)
            continue;
        switch (opt) {
        case 'h':
        case CLI_OPT_HELP:
            fputs(s_help, stdout);
            return CLI_EXIT_OK;
        case CLI_OPT_VERSION:
            cli_print_version(&g);
            return CLI_EXIT_OK;
        case S_OPT_CSV:
            csv = optarg;
            break;
        case S_OPT_STATE:
            state = optarg;
            break;
        case S_OPT_FROM:
            if (!cli_parse_number(optarg, 0, UINT64_MAX, &from))
                return cli_usage_error(&g, "--from takes an event number, 0 or more (got '%s')",
                                       optarg);
            from_set = true;
            break;
        case ':':
            return cli_usage_error(&g, "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(&g, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(&g, "no command given (submit or events)");
    const char *command = argv[optind];
    if (optind + 1 < argc)
        return cli_usage_error(&g, "unexpected argument '%s' after %s", argv[optind + 1], command);
    bool is_submit = strcmp(command, "submit") == 0;
    bool is_events = strcmp(command, "events") == 0;
    if (!is_submit && !is_events)
        return cli_usage_error(&g, "unknown command '%s' (submit or events)", command);
    if (!g.as)
        return cli_usage_error(&g,
                               "%s needs your partner id: --as PARTNER_ID (or set "
                               "RELAIS_PARTNER)",
                               command);
    if (is_submit && (state || from_set))
        return cli_usage_error(&g, "--state and --from go with events, not submit");
    if (is_events && csv)
        return cli_usage_error(&g, "--csv goes with submit, not events");

    cli_catch_interrupts();
    if (is_submit) {
        if (!csv)
            return cli_usage_error(&g, "submit needs the file to send: --csv FILE");
        return s_cmd_submit(&g, csv);
    }
    return s_cmd_events(&g, state, from_set, from);
}
