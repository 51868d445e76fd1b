/*  relais-agent — the partner side: sends a partner's referrals (its CSV
 *  export) to the broker, through a durable local outbox, and shows what
 *  became of them.
 *
 *  submit: the CSV is read row by row (csv_reader) and each readable row is
 *  written to the partner's outbox (relais_outbox.h: LMDB, fsync per row)
 *  before anything is sent; once the whole file is queued, one line says
 *  so, and from then on nothing can be lost: the agent delivers what is
 *  due (this file's rows and any left over from earlier runs) for up to
 *  --wait seconds, printing each answer as it comes, in the same line
 *  format as ever.  What is still queued after the wait is delivered by
 *  `relais-agent run` or the next submit, with exponential backoff.  So
 *  submit succeeds (exit 0) even when the broker is down: success means
 *  "durably queued", and the final line says how many were answered.
 *  A row whose partner_ref the outbox already acknowledged is not sent
 *  again: its recorded answer is printed as a replay (the broker would
 *  answer the same, being idempotent on partner_ref).
 *
 *  run: for a partner's server.  Drains the outbox continuously (sleeping
 *  until the next entry is due) and fetches status events every --poll
 *  seconds, printing both, until SIGINT/SIGTERM, then exits 0.
 *
 *  status: the outbox's counts (queued, retried, acknowledged, rejected),
 *  the age of the oldest undelivered referral, and each rejected one.
 *
 *  events: prints the status events of the partner's referrals after the
 *  last seq seen, page by page, and remembers the last seq printed in a
 *  state file (event_cursor) after each page, once the page is out on
 *  stdout: an interrupted run resumes after what was shown, and a failed
 *  write to stdout does not move the cursor.
 *
 *  State: --state-dir DIR (default $XDG_STATE_HOME/relais, else
 *  ~/.local/state/relais) holds DIR/outbox-PARTNER/ and
 *  DIR/events-PARTNER.seq.
 *
 *  Personal data (names, birth dates...) goes to the broker and to the
 *  outbox (mode 0700) and nowhere else: output lines carry only ids,
 *  statuses and reason codes.
 */
#include "cli.h"
#include "csv_reader.h"
#include "clock.h"
#include "event_cursor.h"
#include "relais_outbox.h"
#include "vocab.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_PROGRAM        "relais-agent"
#define S_EVENTS_PAGE    100
#define S_DEFAULT_WAIT_S 30
#define S_DEFAULT_POLL_S 10

enum {
    S_OPT_CSV = CLI_OPT_FIRST_FREE,
    S_OPT_STATE,
    S_OPT_FROM,
    S_OPT_STATE_DIR,
    S_OPT_WAIT,
    S_OPT_POLL
};

static const char s_help[] =
    "Usage: relais-agent [OPTIONS] COMMAND\n"
    "\n"
    "Sends referrals of young people to the relais broker and shows what became\n"
    "of them.  For partner organisations (Mission locale, ASQ, associations...).\n"
    "Every referral is first written to a local outbox on disk, so none is lost\n"
    "when the broker cannot be reached: it is sent again, with growing delays\n"
    "(1 s doubling to 5 min), until the broker acknowledges it.\n"
    "\n"
    "Commands:\n"
    "  submit --csv FILE   Queue every row of FILE, the partner CSV export, in the\n"
    "                      outbox (\"queued N rows durably in DIR\"), then send\n"
    "                      them and print the broker's answer for each row:\n"
    "                        line N  REF  STATUS  case=C  structure=S  reasons=...\n"
    "                      STATUS is accepted, merged, ineligible, invalid,\n"
    "                      waitlisted or review; \"replay\" at the end means the\n"
    "                      broker already had this row (sending a file twice is\n"
    "                      safe).  A summary line counts the rows per status, and\n"
    "                      a last line says \"N acknowledged, M still queued\": rows\n"
    "                      not answered within --wait stay queued and are sent by\n"
    "                      'relais-agent run' or the next submit.  Answers to rows\n"
    "                      queued by an earlier run show as \"line -\".\n"
    "                      FILE \"-\" reads standard input.\n"
    "    --wait SECONDS    how long to keep delivering (default 30; 0: only queue)\n"
    "  run                 Keep running (for a server): deliver the outbox as\n"
    "                      entries fall due and print each answer (\"line -\"),\n"
    "                      and print the news as 'events' does, every --poll\n"
    "                      seconds.  Stops on Ctrl-C or SIGTERM.\n"
    "    --poll SECONDS    how often to ask for news (default 10)\n"
    "  status              Print the outbox's counts: queued (with how many were\n"
    "                      retried, the age of the oldest undelivered referral and\n"
    "                      when the next attempt is due), acknowledged, rejected;\n"
    "                      then one line per referral the broker rejected.\n"
    "  events              Print the news about your referrals (accepted by a\n"
    "                      structure, contract signed, closed...) since the last\n"
    "                      time this command ran:\n"
    "                        seq N  REF  CASE  STATE  structure=S  at=T  outcome=O\n"
    "    --state FILE      where to remember the last news seen (events and run;\n"
    "                      default DIR/events-PARTNER.seq)\n"
    "    --from SEQ        print the news after number SEQ instead (0: all)\n"
    "\n"
    "Options:\n"
    "  --as PARTNER_ID     your partner id, given by the programme team\n"
    "                      (or set RELAIS_PARTNER in the environment); required\n"
    "  --broker ENDPOINT   the broker's address (default " RELAIS_DEFAULT_PARTNER_ENDPOINT ")\n"
    "  --state-dir DIR     where the outbox (DIR/outbox-PARTNER/) and the news\n"
    "                      cursor live (default $XDG_STATE_HOME/relais, else\n"
    "                      ~/.local/state/relais)\n"
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
    "  0    submit: every readable row is queued on disk (even if the broker is\n"
    "       down: it will be delivered later); run: stopped by a signal;\n"
    "       status, events: done\n"
    "  1    bad command line, a file that cannot be read or written, or an\n"
    "       outbox that cannot be written (full disk...)\n"
    "  2    events: the broker could not be reached\n"
    "  3    the broker refused some rows for good (\"error: broker error ...\";\n"
    "       'status' lists them; submitting them again queues them afresh)\n"
    "  130  interrupted (Ctrl-C); what was queued stays queued\n"
    "\n"
    "Examples:\n"
    "  relais-agent --as mission-locale submit --csv orientations-mars.csv\n"
    "  relais-agent --as mission-locale run\n"
    "  relais-agent --as mission-locale --json status\n"
    "  relais-agent --as mission-locale --json events\n";

/* ---- state directory ---------------------------------------------------------- */

static int s_state_dir(const char *opt, char *out, size_t outlen, char *err, size_t errlen)
{
    if (opt) {
        if (snprintf(out, outlen, "%s", opt) >= (int)outlen) {
            snprintf(err, errlen, "--state-dir: path too long");
            return -1;
        }
        return 0;
    }
    return event_cursor_default_dir(out, outlen, err, errlen);
}

static relais_outbox_t *s_open_outbox(const cli_global_t *g, const char *state_dir_opt)
{
    char dir[PATH_MAX];
    char err[PATH_MAX + 256] = "";
    relais_outbox_t *outbox = NULL;
    if (s_state_dir(state_dir_opt, dir, sizeof dir, err, sizeof err) == 0)
        outbox = relais_outbox_open(dir, g->as, err, sizeof err);
    if (!outbox)
        fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
    return outbox;
}

static int64_t s_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps MS milliseconds, or less when Ctrl-C comes: in short steps, so a
 * signal landing just before a step costs at most one step. */
static void s_sleep_ms(int64_t ms)
{
    int64_t until = s_monotonic_ms() + ms;
    while (!cli_interrupted()) {
        int64_t left = until - s_monotonic_ms();
        if (left <= 0)
            break;
        if (left > 200)
            left = 200;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left * 1000000L};
        nanosleep(&ts, NULL); /* EINTR: the loop checks the flag */
    }
}

/* How long until the outbox has something due: 0 when now, -1 when
 * nothing is queued. */
static int64_t s_ms_until_due(relais_outbox_t *outbox)
{
    int64_t at = 0;
    if (relais_outbox_next_due(outbox, &at) != RELAIS_OK || at == 0)
        return -1;
    int64_t left = at - clock_now() * 1000;
    return left > 0 ? left : 0;
}

/* ---- submit -------------------------------------------------------------- */

typedef struct {
    char *ref;
    size_t line;
    bool settled;   /* its answer (ack or refusal) was printed */
    bool was_acked; /* the outbox had its Ack before this run */
} s_row_t;

typedef struct {
    const cli_global_t *g;
    const char *path;
    relais_outbox_t *outbox;
    s_row_t *rows; /* readable rows, in file order */
    size_t n_rows, cap_rows;
    s_row_t **by_ref; /* the same, sorted by (ref, line), to find a ref's rows */
    size_t lines;     /* data rows read, readable or not */
    size_t queued;    /* rows this run put in the outbox (or found queued) */
    size_t known;     /* rows the outbox had acknowledged before this run */
    size_t by_status[VOCAB_ACK_STATUS_COUNT];
    size_t replays;
    size_t unreadable;
    size_t acknowledged; /* rows of this file answered with an Ack */
    size_t broker_errors;
    size_t earlier; /* entries from earlier runs answered meanwhile */
    bool put_failed;
    bool connect_failed; /* a bad --broker: the rows are queued, but say so */
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

static void s_print_ack(s_submit_t *s, size_t line, const Relais__V1__Ack *ack)
{
    if (s->g->json)
        s_emit(s, cli_json_ack(line, ack));
    else
        cli_print_ack(stdout, line, ack);
}

static int s_row_cmp(const void *a, const void *b)
{
    const s_row_t *x = *(s_row_t *const *)a, *y = *(s_row_t *const *)b;
    int c = strcmp(x->ref, y->ref);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* The index in by_ref of REF's first row (lowest line); *FOUND says
 * whether there is one.  O(log n). */
static size_t s_find_ref(const s_submit_t *s, const char *ref, bool *found)
{
    size_t lo = 0, hi = s->n_rows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->by_ref[mid]->ref, ref) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->n_rows && strcmp(s->by_ref[lo]->ref, ref) == 0;
    return lo;
}

/* An entry settled (drain, or already acknowledged before this run):
 * prints it once per row of the file that carries its partner_ref, the
 * first as recorded and the others as replays (what the broker would have
 * said to the duplicates); an entry from an earlier run gets "line -".
 * FORCE_REPLAY: the answer was recorded before this run. */
static void s_settle(s_submit_t *s, const relais_outbox_entry_t *e, bool force_replay)
{
    bool found = false;
    size_t i = s->by_ref ? s_find_ref(s, e->partner_ref, &found) : 0;
    size_t first = i;
    if (!found)
        s->earlier++;
    do {
        s_row_t *row = found ? s->by_ref[i] : NULL;
        size_t line = row ? row->line : 0;
        if (row && row->settled)
            continue;
        if (row)
            row->settled = true;
        if (e->state == RELAIS_OUTBOX_ACKED && e->ack) {
            Relais__V1__Ack shown = *e->ack; /* shallow: only replay differs */
            shown.replay = e->ack->replay || force_replay || i > first;
            if (row) {
                int status = (int)shown.status;
                if (status > 0 && status < VOCAB_ACK_STATUS_COUNT)
                    s->by_status[status]++;
                if (shown.replay)
                    s->replays++;
                s->acknowledged++;
            }
            s_print_ack(s, line, &shown);
        } else if (e->state == RELAIS_OUTBOX_REJECTED) {
            char message[400];
            snprintf(message, sizeof message, "broker error %s: %s", e->error_code,
                     e->error_message);
            if (row)
                s->broker_errors++;
            s_report_problem(s, line, e->partner_ref, "broker_error", "error", message);
        }
    } while (found && ++i < s->n_rows && strcmp(s->by_ref[i]->ref, e->partner_ref) == 0);
}

static void s_on_settled(void *arg, const relais_outbox_entry_t *e)
{
    s_settle(arg, e, false);
}

static void s_on_already_acked(void *arg, const relais_outbox_entry_t *e)
{
    if (e->state == RELAIS_OUTBOX_ACKED)
        s_settle(arg, e, true);
}

static int s_on_row(void *arg, size_t line, const char *partner_ref,
                    const Relais__V1__Referral *referral, const char *error)
{
    s_submit_t *s = arg;
    s->lines++;
    if (error) {
        s->unreadable++;
        s_report_problem(s, line, partner_ref, "unreadable", "unreadable", error);
        return 0; /* read on: every row gets its line */
    }
    if (cli_interrupted())
        return 1;
    relais_outbox_state_t state = 0;
    if (relais_outbox_put(s->outbox, referral, &state, NULL) != RELAIS_OK) {
        fprintf(stderr, "%s: line %zu: %s\n", S_PROGRAM, line, relais_outbox_last_error(s->outbox));
        s->put_failed = true;
        return 1; /* a full or failing disk will not get better row by row */
    }
    if (s->n_rows == s->cap_rows) {
        size_t cap = s->cap_rows ? s->cap_rows * 2 : 256;
        s_row_t *grown = realloc(s->rows, cap * sizeof *grown);
        if (!grown)
            goto oom;
        s->rows = grown;
        s->cap_rows = cap;
    }
    s->rows[s->n_rows].ref =
        strdup(partner_ref && *partner_ref ? partner_ref : referral->partner_ref);
    if (!s->rows[s->n_rows].ref)
        goto oom;
    s->rows[s->n_rows].line = line;
    s->rows[s->n_rows].settled = false;
    s->rows[s->n_rows].was_acked = state == RELAIS_OUTBOX_ACKED;
    s->n_rows++;
    if (state == RELAIS_OUTBOX_QUEUED)
        s->queued++;
    else
        s->known++;
    return 0;
oom:
    fprintf(stderr, "%s: out of memory\n", S_PROGRAM);
    s->put_failed = true;
    return 1;
}

static void s_on_warn(void *arg, const char *warning)
{
    const s_submit_t *s = arg;
    fprintf(stderr, "%s: %s: warning: %s\n", S_PROGRAM, s->path, warning);
}

static size_t s_still_queued(const s_submit_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_rows; i++)
        if (!s->rows[i].settled)
            n++;
    return n;
}

/* "queued N rows durably in DIR[ (K already acknowledged)]", once every
 * readable row is on disk. */
static void s_print_queued(s_submit_t *s)
{
    const char *dir = relais_outbox_path(s->outbox);
    if (s->g->json) {
        json_t *obj = json_object();
        if (obj) {
            json_object_set_new(obj, "queued", json_integer((json_int_t)s->queued));
            json_object_set_new(obj, "outbox", json_string(dir));
            json_object_set_new(obj, "already_acknowledged", json_integer((json_int_t)s->known));
        }
        s_emit(s, obj);
    } else {
        printf("queued %zu row%s durably in %s", s->queued, s->queued == 1 ? "" : "s", dir);
        if (s->known > 0)
            printf(" (%zu already acknowledged)", s->known);
        putchar('\n');
    }
    if (fflush(stdout) != 0)
        s->output_failed = true;
}

static void s_print_summary(s_submit_t *s)
{
    size_t still = s_still_queued(s);
    if (s->g->json) {
        json_t *counts = json_object();
        json_t *obj = json_object();
        if (!counts || !obj) {
            json_decref(counts);
            json_decref(obj);
            s->output_failed = true;
            return;
        }
        json_object_set_new(counts, "rows", json_integer((json_int_t)s->lines));
        for (int i = 1; i < VOCAB_ACK_STATUS_COUNT; i++)
            json_object_set_new(counts, vocab_ack_status_name(i),
                                json_integer((json_int_t)s->by_status[i]));
        json_object_set_new(counts, "unreadable", json_integer((json_int_t)s->unreadable));
        json_object_set_new(counts, "broker_errors", json_integer((json_int_t)s->broker_errors));
        json_object_set_new(counts, "replays", json_integer((json_int_t)s->replays));
        json_object_set_new(counts, "acknowledged", json_integer((json_int_t)s->acknowledged));
        json_object_set_new(counts, "queued", json_integer((json_int_t)still));
        json_object_set_new(obj, "summary", counts);
        s_emit(s, obj);
        return;
    }
    printf("summary  rows=%zu ", s->lines);
    for (int i = 1; i < VOCAB_ACK_STATUS_COUNT; i++)
        printf(" %s=%zu", vocab_ack_status_name(i), s->by_status[i]);
    printf("  unreadable=%zu  queued=%zu  broker_errors=%zu  replays=%zu\n", s->unreadable, still,
           s->broker_errors, s->replays);
    printf("%zu acknowledged, %zu still queued (will be retried by 'relais-agent run' or the "
           "next submit)\n",
           s->acknowledged, still);
}

/* Delivers for up to WAIT_S seconds: drain passes, sleeping in between
 * until the next entry is due, while this file has unanswered rows.  The
 * reason the last pass could not reach the broker goes to REASON. */
static void s_deliver(s_submit_t *s, uint64_t wait_s, char *reason, size_t reasonlen)
{
    relais_client_t *client = NULL;
    int64_t deadline = s_monotonic_ms() + (int64_t)wait_s * 1000;
    if (wait_s == 0)
        return;
    client = cli_connect(s->g); /* prints why it failed */
    if (!client) {
        s->connect_failed = true;
        return;
    }
    /* At least one pass, even when every row of this file is answered
     * already: entries left by earlier runs are due too. */
    for (bool first = true; !cli_interrupted() && (first || s_still_queued(s) > 0); first = false) {
        int64_t left = deadline - s_monotonic_ms();
        if (left <= 0)
            break;
        int rc = relais_outbox_drain(s->outbox, client, (int)left, s_on_settled, s, NULL);
        if (rc == RELAIS_ETIMEOUT || rc == RELAIS_EPROTO) {
            snprintf(reason, reasonlen, "%s", relais_client_last_error(client));
        } else if (rc == RELAIS_ESYS) {
            if (!cli_interrupted()) {
                const char *why = relais_outbox_last_error(s->outbox);
                snprintf(reason, reasonlen, "%s", *why ? why : relais_client_last_error(client));
            }
            break;
        }
        if (s_still_queued(s) == 0)
            break;
        int64_t due = s_ms_until_due(s->outbox);
        left = deadline - s_monotonic_ms();
        if (due < 0 || due >= left)
            break; /* nothing will be tried before the wait is over */
        s_sleep_ms(due);
    }
    relais_client_destroy(&client);
}

static void s_free_rows(s_submit_t *s)
{
    for (size_t i = 0; i < s->n_rows; i++)
        free(s->rows[i].ref);
    free(s->rows);
    free(s->by_ref);
}

static int s_cmd_submit(const cli_global_t *g, const char *path, const char *state_dir,
                        uint64_t wait_s)
{
    char err[512] = "";
    char reason[600] = "";
    s_submit_t s = {.g = g, .path = path};
    int status = CLI_EXIT_USAGE;
    s.outbox = s_open_outbox(g, state_dir);
    if (!s.outbox)
        return CLI_EXIT_USAGE;

    int read_rc;
    if (strcmp(path, "-") == 0)
        read_rc = csv_reader_read_stream(stdin, s_on_row, s_on_warn, &s, err, sizeof err);
    else
        read_rc = csv_reader_read_file(path, s_on_row, s_on_warn, &s, err, sizeof err);
    if (read_rc < 0 && s.lines == 0) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
        goto done;
    }
    if (s.n_rows > 0) {
        s.by_ref = malloc(s.n_rows * sizeof *s.by_ref);
        if (!s.by_ref) {
            fprintf(stderr, "%s: out of memory\n", S_PROGRAM);
            goto done;
        }
        for (size_t i = 0; i < s.n_rows; i++)
            s.by_ref[i] = &s.rows[i];
        qsort(s.by_ref, s.n_rows, sizeof *s.by_ref, s_row_cmp);
    }
    /* Every row read is on disk now (each put returned after fsync). */
    s_print_queued(&s);
    /* Rows the outbox had already acknowledged: their recorded answer. */
    for (size_t i = 0; i < s.n_rows; i++)
        if (s.rows[i].was_acked && !s.rows[i].settled &&
            relais_outbox_get(s.outbox, s.rows[i].ref, s_on_already_acked, &s) < 0)
            fprintf(stderr, "%s: %s\n", S_PROGRAM, relais_outbox_last_error(s.outbox));
    if (!s.put_failed && read_rc >= 0)
        s_deliver(&s, wait_s, reason, sizeof reason);

    s_print_summary(&s);
    if (fflush(stdout) != 0 || ferror(stdout))
        s.output_failed = true;
    if (s.earlier > 0)
        fprintf(stderr, "%s: also answered: %zu referral%s queued by an earlier run\n", S_PROGRAM,
                s.earlier, s.earlier == 1 ? "" : "s");
    if (*reason && s_still_queued(&s) > 0)
        fprintf(stderr, "%s: %s\n", S_PROGRAM, reason);

    /* The most serious problem decides. */
    if (s.put_failed) {
        fprintf(stderr,
                "%s: the rows before that line are queued; fix the problem and submit "
                "the file again (rows already queued are not duplicated)\n",
                S_PROGRAM);
        status = CLI_EXIT_USAGE;
    } else if (read_rc < 0) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
        status = CLI_EXIT_USAGE;
    } else if (s.connect_failed)
        status = CLI_EXIT_USAGE;
    else if (cli_interrupted())
        status = CLI_EXIT_INTERRUPTED;
    else if (s.output_failed) {
        fprintf(stderr, "%s: cannot write the results to standard output\n", S_PROGRAM);
        status = CLI_EXIT_USAGE;
    } else if (s.broker_errors > 0)
        status = CLI_EXIT_REFUSED;
    else
        status = CLI_EXIT_OK;
done:
    s_free_rows(&s);
    relais_outbox_close(&s.outbox);
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

/* Prints every event after *AFTER, page by page, saving the cursor in
 * STATE_PATH after each page.  Returns CLI_EXIT_OK, or a failure's exit
 * status: a local one is reported here; a failed fetch is left to the
 * caller (*RELAIS_RC, relais_client_last_error).  *TOTAL counts what was
 * printed. */
static int s_catch_up_events(const cli_global_t *g, relais_client_t *client, const char *state_path,
                             uint64_t *after, long *total, int *relais_rc)
{
    char err[PATH_MAX + 256] = "";
    int status = CLI_EXIT_OK;
    *relais_rc = RELAIS_OK;
    for (;;) {
        Relais__V1__Envelope *reply = NULL;
        if (cli_interrupted()) /* Ctrl-C while a page was printed: stop */
            return CLI_EXIT_INTERRUPTED;
        int rc = relais_client_fetch_events(client, *after, S_EVENTS_PAGE, &reply);
        if (rc != RELAIS_OK) {
            if (reply)
                relais__v1__envelope__free_unpacked(reply, NULL);
            *relais_rc = rc;
            return cli_exit_status(rc);
        }
        long printed = s_print_page(g, reply->events, after, &status);
        relais__v1__envelope__free_unpacked(reply, NULL);
        if (printed < 0)
            return status;
        if (printed == 0)
            return CLI_EXIT_OK; /* empty page (or nothing new in it): up to date */
        *total += printed;
        if (event_cursor_save(state_path, *after, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
            return CLI_EXIT_USAGE;
        }
    }
}

/* The cursor file: --state FILE, else STATE_DIR/events-PARTNER.seq. */
static int s_cursor_path(const cli_global_t *g, const char *state_opt, const char *state_dir_opt,
                         char *out, size_t outlen, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (state_opt) {
        snprintf(out, outlen, "%s", state_opt);
        return 0;
    }
    if (s_state_dir(state_dir_opt, dir, sizeof dir, err, errlen) != 0)
        return -1;
    return event_cursor_path_in(dir, g->as, out, outlen, err, errlen);
}

static int s_cmd_events(const cli_global_t *g, const char *state_opt, const char *state_dir_opt,
                        bool from_set, uint64_t from)
{
    char err[PATH_MAX + 256] = "";
    char state_path[PATH_MAX];
    relais_client_t *client = NULL;
    int status = CLI_EXIT_USAGE;
    uint64_t after = 0;
    long total = 0;

    if (s_cursor_path(g, state_opt, state_dir_opt, state_path, sizeof state_path, err,
                      sizeof err) != 0)
        goto fail;
    if (from_set)
        after = from;
    else if (event_cursor_load(state_path, &after, err, sizeof err) != 0)
        goto fail;

    client = cli_connect(g);
    if (!client)
        goto done;
    int relais_rc;
    status = s_catch_up_events(g, client, state_path, &after, &total, &relais_rc);
    if (relais_rc != RELAIS_OK)
        fprintf(stderr, "%s: %s\n", S_PROGRAM, relais_client_last_error(client));
    if (status == CLI_EXIT_OK && total == 0 && !g->json)
        fprintf(stderr, "%s: no new events after seq %llu\n", S_PROGRAM, (unsigned long long)after);
    goto done;
fail:
    fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
    status = CLI_EXIT_USAGE;
done:
    relais_client_destroy(&client);
    return status;
}

/* ---- run ------------------------------------------------------------------- */

typedef struct {
    s_submit_t out; /* only its printing helpers and output flag are used */
    bool unreachable;
} s_run_t;

static void s_run_on_settled(void *arg, const relais_outbox_entry_t *e)
{
    s_run_t *r = arg;
    s_settle(&r->out, e, false);
    if (fflush(stdout) != 0)
        r->out.output_failed = true;
}

/* Says once that the broker is gone, and once that it is back. */
static void s_run_reachability(s_run_t *r, bool reachable, const char *why)
{
    if (!reachable && !r->unreachable)
        fprintf(stderr, "%s: %s; queued referrals are kept and retried\n", S_PROGRAM, why);
    else if (reachable && r->unreachable)
        fprintf(stderr, "%s: the broker answers again\n", S_PROGRAM);
    r->unreachable = !reachable;
}

static int s_cmd_run(const cli_global_t *g, const char *state_opt, const char *state_dir_opt,
                     uint64_t poll_s)
{
    char err[PATH_MAX + 256] = "";
    char state_path[PATH_MAX];
    relais_client_t *client = NULL;
    int status = CLI_EXIT_USAGE;
    uint64_t after = 0;
    s_run_t r = {.out = {.g = g}};

    if (s_cursor_path(g, state_opt, state_dir_opt, state_path, sizeof state_path, err,
                      sizeof err) != 0 ||
        event_cursor_load(state_path, &after, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, err);
        return CLI_EXIT_USAGE;
    }
    r.out.outbox = s_open_outbox(g, state_dir_opt);
    if (!r.out.outbox)
        return CLI_EXIT_USAGE;
    client = cli_connect(g);
    if (!client)
        goto done;
    fprintf(stderr, "%s: delivering %s to %s, news every %llu s; Ctrl-C to stop\n", S_PROGRAM,
            relais_outbox_path(r.out.outbox), g->broker, (unsigned long long)poll_s);

    int64_t next_events = 0; /* monotonic ms */
    while (!cli_interrupted()) {
        relais_outbox_drain_t d;
        /* A bounded pass, so events are not starved by a long queue. */
        int rc = relais_outbox_drain(r.out.outbox, client, 10000, s_run_on_settled, &r, &d);
        if (rc == RELAIS_ETIMEOUT || rc == RELAIS_EPROTO)
            s_run_reachability(&r, false, relais_client_last_error(client));
        else if (rc == RELAIS_OK && d.sent > 0)
            s_run_reachability(&r, true, NULL);
        else if (rc == RELAIS_ESYS && !cli_interrupted()) {
            const char *why = relais_outbox_last_error(r.out.outbox);
            fprintf(stderr, "%s: %s\n", S_PROGRAM, *why ? why : relais_client_last_error(client));
            goto done; /* a failing disk: let the service manager see it */
        }
        if (r.out.output_failed)
            break;

        int64_t now = s_monotonic_ms();
        if (!cli_interrupted() && now >= next_events) {
            long total = 0;
            int relais_rc;
            int st = s_catch_up_events(g, client, state_path, &after, &total, &relais_rc);
            if (relais_rc != RELAIS_OK)
                s_run_reachability(&r, false, relais_client_last_error(client));
            else if (st == CLI_EXIT_OK)
                s_run_reachability(&r, true, NULL);
            else if (st != CLI_EXIT_INTERRUPTED)
                goto done; /* cursor or stdout failure, already reported */
            next_events = s_monotonic_ms() + (int64_t)poll_s * 1000;
        }

        int64_t sleep_ms = next_events - s_monotonic_ms();
        int64_t due = s_ms_until_due(r.out.outbox);
        if (due >= 0 && due < sleep_ms)
            sleep_ms = due;
        s_sleep_ms(sleep_ms > 0 ? sleep_ms : 0);
    }
    if (r.out.output_failed) {
        fprintf(stderr, "%s: cannot write to standard output\n", S_PROGRAM);
        goto done;
    }
    fprintf(stderr, "%s: stopped; what is still queued stays in %s\n", S_PROGRAM,
            relais_outbox_path(r.out.outbox));
    status = CLI_EXIT_OK; /* a requested stop is a clean one */
done:
    relais_client_destroy(&client);
    relais_outbox_close(&r.out.outbox);
    return status;
}

/* ---- status ------------------------------------------------------------------- */

static void s_status_rejected(void *arg, const relais_outbox_entry_t *e)
{
    s_submit_t *s = arg;
    char at[21];
    clock_format(e->done_at_ms / 1000, at);
    if (s->g->json) {
        json_t *obj = json_pack("{s:{s:s,s:s,s:s,s:s,s:i}}", "rejected", "partner_ref",
                                e->partner_ref, "code", e->error_code, "message", e->error_message,
                                "at", at, "attempts", (json_int_t)e->attempts);
        s_emit(s, obj);
        return;
    }
    char what[600];
    snprintf(what, sizeof what, "rejected %s: %s  at=%s", e->error_code, e->error_message, at);
    cli_print_row_problem(stdout, 0, e->partner_ref, what);
}

static int s_cmd_status(const cli_global_t *g, const char *state_dir_opt)
{
    s_submit_t s = {.g = g};
    relais_outbox_stats_t st;
    int status = CLI_EXIT_USAGE;
    s.outbox = s_open_outbox(g, state_dir_opt);
    if (!s.outbox)
        return CLI_EXIT_USAGE;
    if (relais_outbox_stats(s.outbox, &st) != RELAIS_OK) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, relais_outbox_last_error(s.outbox));
        goto done;
    }
    int64_t oldest_s = st.oldest_queued_age_ms / 1000;
    int64_t next_in_s = 0;
    if (st.next_attempt_at_ms > 0) {
        next_in_s = (st.next_attempt_at_ms - clock_now() * 1000 + 999) / 1000;
        if (next_in_s < 0)
            next_in_s = 0;
    }
    if (g->json) {
        json_t *obj = json_pack(
            "{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "outbox", relais_outbox_path(s.outbox), "queued",
            (json_int_t)st.queued, "retrying", (json_int_t)st.retrying, "acknowledged",
            (json_int_t)st.acked, "rejected", (json_int_t)st.rejected, "oldest_undelivered_age_s",
            (json_int_t)oldest_s, "next_attempt_in_s", (json_int_t)(st.queued ? next_in_s : 0));
        if (obj && st.queued == 0) {
            json_object_set_new(obj, "oldest_undelivered_age_s", json_null());
            json_object_set_new(obj, "next_attempt_in_s", json_null());
        }
        s_emit(&s, obj);
    } else {
        printf("outbox        %s\n", relais_outbox_path(s.outbox));
        printf("queued        %zu", st.queued);
        if (st.queued > 0)
            printf("  (retrying=%zu  oldest_undelivered=%llds  next_attempt_in=%llds)", st.retrying,
                   (long long)oldest_s, (long long)next_in_s);
        printf("\nacknowledged  %zu\nrejected      %zu\n", st.acked, st.rejected);
    }
    if (st.rejected > 0 && relais_outbox_foreach(s.outbox, RELAIS_OUTBOX_REJECTED,
                                                 s_status_rejected, &s) != RELAIS_OK) {
        fprintf(stderr, "%s: %s\n", S_PROGRAM, relais_outbox_last_error(s.outbox));
        goto done;
    }
    if (fflush(stdout) != 0 || ferror(stdout) || s.output_failed) {
        fprintf(stderr, "%s: cannot write to standard output\n", S_PROGRAM);
        goto done;
    }
    status = CLI_EXIT_OK;
done:
    relais_outbox_close(&s.outbox);
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
        {"state-dir", required_argument, NULL, S_OPT_STATE_DIR},
        {"wait", required_argument, NULL, S_OPT_WAIT},
        {"poll", required_argument, NULL, S_OPT_POLL},
        {NULL, 0, NULL, 0},
    };
    cli_global_t g;
    char err[256];
    const char *csv = NULL;
    const char *state = NULL;
    const char *state_dir = NULL;
    bool from_set = false, wait_set = false, poll_set = false;
    uint64_t from = 0, wait_s = S_DEFAULT_WAIT_S, poll_s = S_DEFAULT_POLL_S;

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
        case S_OPT_STATE_DIR:
            if (!*optarg)
                return cli_usage_error(&g, "--state-dir needs a directory");
            state_dir = optarg;
            break;
        case S_OPT_FROM:
            if (!cli_parse_number(optarg, 0, UINT64_MAX, &from))
                return cli_usage_error(&g, "--from takes an event number, 0 or more (got '%s')",
                                       optarg);
            from_set = true;
            break;
        case S_OPT_WAIT:
            if (!cli_parse_number(optarg, 0, 86400, &wait_s))
                return cli_usage_error(&g, "--wait takes seconds, 0 to 86400 (got '%s')", optarg);
            wait_set = true;
            break;
        case S_OPT_POLL:
            if (!cli_parse_number(optarg, 1, 86400, &poll_s))
                return cli_usage_error(&g, "--poll takes seconds, 1 to 86400 (got '%s')", optarg);
            poll_set = true;
            break;
        case ':':
            return cli_usage_error(&g, "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(&g, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(&g, "no command given (submit, run, status or events)");
    const char *command = argv[optind];
    if (optind + 1 < argc)
        return cli_usage_error(&g, "unexpected argument '%s' after %s", argv[optind + 1], command);
    bool is_submit = strcmp(command, "submit") == 0;
    bool is_events = strcmp(command, "events") == 0;
    bool is_run = strcmp(command, "run") == 0;
    bool is_status = strcmp(command, "status") == 0;
    if (!is_submit && !is_events && !is_run && !is_status)
        return cli_usage_error(&g, "unknown command '%s' (submit, run, status or events)", command);
    if (!g.as)
        return cli_usage_error(&g,
                               "%s needs your partner id: --as PARTNER_ID (or set "
                               "RELAIS_PARTNER)",
                               command);
    if (csv && !is_submit)
        return cli_usage_error(&g, "--csv goes with submit, not %s", command);
    if (wait_set && !is_submit)
        return cli_usage_error(&g, "--wait goes with submit, not %s", command);
    if (state && !is_events && !is_run)
        return cli_usage_error(&g, "--state goes with events and run, not %s", command);
    if (from_set && !is_events)
        return cli_usage_error(&g, "--from goes with events, not %s", command);
    if (poll_set && !is_run)
        return cli_usage_error(&g, "--poll goes with run, not %s", command);

    cli_catch_interrupts();
    if (is_submit) {
        if (!csv)
            return cli_usage_error(&g, "submit needs the file to send: --csv FILE");
        return s_cmd_submit(&g, csv, state_dir, wait_s);
    }
    if (is_run)
        return s_cmd_run(&g, state, state_dir, poll_s);
    if (is_status)
        return s_cmd_status(&g, state_dir);
    return s_cmd_events(&g, state, state_dir, from_set, from);
}
